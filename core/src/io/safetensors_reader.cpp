// SafetensorsReader: the byte framing (length prefix, header bounds) and how the tensors' ranges tile the data
// buffer, rules 1–3, 5 and 7 of docs/formats.md §1.5; the header's entries are checked in safetensors_header.cpp.
#include <algorithm>
#include <optional>
#include <utility>

#include "autotimm/error.hpp"
#include "autotimm/io/safetensors.hpp"
#include "autotimm/names.hpp"
#include "mapped_file.hpp"
#include "safetensors_header.hpp"

namespace autotimm {
namespace {

constexpr std::size_t kLengthPrefixBytes = 8;
constexpr std::string_view kRemedy = "the file is corrupt or not safetensors; download or export it again";

std::uint64_t read_little_endian_u64(std::span<const std::byte> bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value |= static_cast<std::uint64_t>(bytes[i]) << (8 * i);
  return value;
}

std::string describe_first_byte(std::byte byte) {
  const auto code = static_cast<unsigned char>(byte);
  if (code >= 0x20 && code < 0x7f) return "'" + std::string(1, static_cast<char>(code)) + "'";
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[code >> 4] + kHex[code & 0xf];
}

}  // namespace

struct SafetensorsReader::State {
  std::optional<detail::MappedFile> file;  // empty when reading caller-owned bytes
  std::span<const std::byte> bytes;        // the whole file
  std::string source;
  std::uint64_t header_size = 0;
  std::span<const std::byte> buffer;  // the data buffer, after the header
  std::vector<TensorInfo> tensors;    // sorted by byte range
  std::map<std::string, std::size_t, std::less<>> index_by_name;
  std::map<std::string, std::string> metadata;

  void parse();
  void check_ranges_tile_buffer() const;
};

void SafetensorsReader::State::parse() {
  const std::string where = "'" + source + "'";
  const std::uint64_t file_size = bytes.size();
  if (file_size < kLengthPrefixBytes) {
    throw FormatError("safetensors file too small: " + where + ": expected at least 8 bytes (the header length), got " +
                      std::to_string(file_size) + "; " + std::string(kRemedy));
  }
  header_size = read_little_endian_u64(bytes);
  if (header_size > kSafetensorsMaxHeaderBytes) {
    throw FormatError("safetensors header too large: " + where + ": expected at most " +
                      std::to_string(kSafetensorsMaxHeaderBytes) + " bytes, got " + std::to_string(header_size) +
                      "; " + std::string(kRemedy));
  }
  const std::uint64_t room_for_header = file_size - kLengthPrefixBytes;
  if (header_size > room_for_header) {
    throw FormatError("safetensors header past the end of the file: " + where + ": expected at most " +
                      std::to_string(room_for_header) + " header bytes (the file is " + std::to_string(file_size) +
                      " bytes), got " + std::to_string(header_size) + "; the file is truncated or not safetensors");
  }
  const std::span<const std::byte> header_bytes = bytes.subspan(kLengthPrefixBytes, header_size);
  if (header_bytes.empty() || header_bytes.front() != std::byte{'{'}) {
    throw FormatError("invalid safetensors header: " + where + ": expected JSON starting with '{', got " +
                      (header_bytes.empty() ? std::string("an empty header") : describe_first_byte(header_bytes[0])) +
                      "; " + std::string(kRemedy));
  }
  buffer = bytes.subspan(kLengthPrefixBytes + header_size);

  detail::SafetensorsHeader header = detail::parse_safetensors_header(
      std::string_view(reinterpret_cast<const char*>(header_bytes.data()), header_bytes.size()), source);
  tensors = std::move(header.tensors);
  metadata = std::move(header.metadata);
  // Header key order is arbitrary (§1.4); file order is byte order. Stable, so empty tensors sharing an offset keep
  // their header order.
  std::stable_sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  check_ranges_tile_buffer();
  for (std::size_t i = 0; i < tensors.size(); ++i) index_by_name.emplace(tensors[i].name, i);
}

// Rules 5 and 7: sorted by offset, each tensor begins where the previous one ends (the first at 0), and the last
// ends exactly at the end of the file. This is what guarantees data() never reads outside the file.
void SafetensorsReader::State::check_ranges_tile_buffer() const {
  const std::string where = "'" + source + "'";
  std::uint64_t expected_begin = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo& tensor : tensors) {
    if (tensor.begin != expected_begin) {
      const std::string what = tensor.begin < expected_begin ? "overlapping tensors in safetensors data"
                                                             : "hole in safetensors data";
      const std::string reason =
          previous ? "where tensor '" + previous->name + "' ends" : std::string("the start of the data buffer");
      throw FormatError(what + ": " + where + ": expected tensor '" + tensor.name + "' to begin at byte " +
                        std::to_string(expected_begin) + " (" + reason + "), got " + std::to_string(tensor.begin) +
                        "; " + std::string(kRemedy));
    }
    expected_begin = tensor.end;
    previous = &tensor;
  }
  const std::uint64_t buffer_size = buffer.size();
  if (expected_begin > buffer_size) {
    throw FormatError("tensor data past the end of the file: " + where + ": expected tensor '" + previous->name +
                      "' to end within the " + std::to_string(buffer_size) + "-byte data buffer, got end offset " +
                      std::to_string(expected_begin) + "; the file is truncated, download or export it again");
  }
  if (expected_begin < buffer_size) {
    throw FormatError("trailing bytes after the tensor data: " + where + ": expected the tensors to cover all " +
                      std::to_string(buffer_size) + " bytes of the data buffer, got " +
                      std::to_string(expected_begin) + " covered; " + std::string(kRemedy));
  }
}

SafetensorsReader::SafetensorsReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
SafetensorsReader::SafetensorsReader(SafetensorsReader&& other) noexcept = default;
SafetensorsReader& SafetensorsReader::operator=(SafetensorsReader&& other) noexcept = default;
SafetensorsReader::~SafetensorsReader() = default;

SafetensorsReader SafetensorsReader::open(const std::filesystem::path& path) {
  auto state = std::make_unique<State>();
  state->source = std::filesystem::absolute(path).lexically_normal().string();
  state->file.emplace(path);
  state->bytes = state->file->bytes();
  state->parse();
  return SafetensorsReader(std::move(state));
}

SafetensorsReader SafetensorsReader::from_bytes(std::span<const std::byte> bytes, std::string source) {
  auto state = std::make_unique<State>();
  state->source = std::move(source);
  state->bytes = bytes;
  state->parse();
  return SafetensorsReader(std::move(state));
}

const std::string& SafetensorsReader::source() const noexcept { return state_->source; }

const std::vector<TensorInfo>& SafetensorsReader::tensors() const noexcept { return state_->tensors; }

const TensorInfo* SafetensorsReader::find(std::string_view name) const noexcept {
  const auto found = state_->index_by_name.find(name);
  return found == state_->index_by_name.end() ? nullptr : &state_->tensors[found->second];
}

const TensorInfo& SafetensorsReader::get(std::string_view name) const {
  if (const TensorInfo* tensor = find(name)) return *tensor;
  std::vector<std::string> names;
  names.reserve(state_->tensors.size());
  for (const TensorInfo& tensor : state_->tensors) names.push_back(tensor.name);
  const std::string closest =
      names.empty() ? std::string("the file holds no tensors") : "closest: " + join_names(closest_names(name, names));
  throw NotFoundError("unknown tensor '" + std::string(name) + "' in '" + state_->source + "'; " + closest);
}

const std::map<std::string, std::string>& SafetensorsReader::metadata() const noexcept { return state_->metadata; }

std::span<const std::byte> SafetensorsReader::data(const TensorInfo& tensor) const {
  // Guards against a TensorInfo from another file or edited by the caller; ours always pass.
  if (tensor.begin > tensor.end || tensor.end > state_->buffer.size()) {
    throw ConfigError("tensor '" + tensor.name + "' is not in '" + state_->source + "': expected a byte range within " +
                      std::to_string(state_->buffer.size()) + " bytes, got [" + std::to_string(tensor.begin) + ", " +
                      std::to_string(tensor.end) + "); pass a TensorInfo from this reader's tensors()");
  }
  return state_->buffer.subspan(tensor.begin, tensor.end - tensor.begin);
}

std::uint64_t SafetensorsReader::header_size() const noexcept { return state_->header_size; }

}  // namespace autotimm
