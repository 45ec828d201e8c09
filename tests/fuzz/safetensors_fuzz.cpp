// libFuzzer target for the safetensors reader. Any input must either parse, with every tensor's byte range inside
// the input, or throw an autotimm::Error; a crash, an over-read (AddressSanitizer) or any other exception is a bug.
// Inputs that parse are also written back and re-read: the writer must accept what the reader accepts and
// preserve every tensor and metadata entry.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "autotimm/error.hpp"
#include "autotimm/io/safetensors.hpp"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

void round_trip(const autotimm::SafetensorsReader& reader) {
  std::vector<autotimm::TensorBytes> tensors;
  for (const autotimm::TensorInfo& info : reader.tensors()) {
    tensors.push_back({info.name, info.dtype, info.shape, reader.data(info)});
  }
  const std::string file = autotimm::serialize_safetensors(tensors, reader.metadata());
  const auto copy = autotimm::SafetensorsReader::from_bytes(
      std::span(reinterpret_cast<const std::byte*>(file.data()), file.size()), "round trip");
  check(copy.tensors().size() == reader.tensors().size());
  check(copy.metadata() == reader.metadata());
  check(copy.header_size() % 8 == 0);
  for (const autotimm::TensorInfo& info : reader.tensors()) {
    const autotimm::TensorInfo& written = copy.get(info.name);
    check(written.dtype == info.dtype && written.shape == info.shape);
    check(same_bytes(copy.data(written), reader.data(info)));
  }
}

void read_and_check(std::span<const std::byte> bytes) {
  try {
    const auto reader = autotimm::SafetensorsReader::from_bytes(bytes, "fuzz input");
    // Touch every byte handed out, so an out-of-range span is an AddressSanitizer report, not a silent pass.
    unsigned checksum = 0;
    for (const autotimm::TensorInfo& info : reader.tensors()) {
      const std::span<const std::byte> tensor = reader.data(info);
      check(tensor.data() >= bytes.data() && tensor.data() + tensor.size() <= bytes.data() + bytes.size());
      for (std::byte b : tensor) checksum += static_cast<unsigned>(b);
      check(reader.find(info.name) != nullptr);
    }
    volatile unsigned sink = checksum;
    (void)sink;
    round_trip(reader);
  } catch (const autotimm::Error&) {
    // Refusing bad input with a message is the expected outcome.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  // The input as a whole file.
  read_and_check(input);
  // The input as header text up to its last '}' plus data, behind a matching length prefix: random mutations
  // rarely keep a prefix consistent, so this view is what explores the JSON and offset rules.
  const auto last_brace = std::find(input.rbegin(), input.rend(), std::byte{'}'});
  if (last_brace != input.rend()) {
    const std::uint64_t header_size = static_cast<std::uint64_t>(input.rend() - last_brace);
    std::vector<std::byte> file(8 + size);
    for (std::size_t i = 0; i < 8; ++i) file[i] = static_cast<std::byte>((header_size >> (8 * i)) & 0xff);
    std::copy(input.begin(), input.end(), file.begin() + 8);
    read_and_check(file);
  }
  return 0;
}
