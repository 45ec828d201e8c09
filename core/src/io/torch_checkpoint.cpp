// load_torch_checkpoint: the zip archive (zip_archive.cpp) and data.pkl (pickle_reader.cpp) turned into tensors.
// Storages are the records <prefix>/data/<key>; each tensor is a strided view of one, bounds-checked against the
// record, then copied out contiguous. Format notes: docs/formats.md §2; unwrapping: docs/hub.md §7.2 step 8.
#include "autotimm/io/torch_checkpoint.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "autotimm/error.hpp"
#include "mapped_file.hpp"
#include "pickle_reader.hpp"
#include "zip_archive.hpp"

namespace autotimm {
namespace {

// Storage records hold the host's bytes as torch wrote them; only little-endian files and hosts are supported.
static_assert(std::endian::native == std::endian::little, "torch checkpoint loading assumes a little-endian host");

using detail::PickleKind;
using detail::PickleTensorRef;
using detail::PickleValue;

constexpr std::size_t kMaxRank = 64;

constexpr std::string_view kResave =
    "re-save the weights with torch.save(model.state_dict(), path) from torch >= 1.6, or convert them to safetensors";

struct StorageType {
  std::string_view name;
  c10::ScalarType type;
};

// docs/formats.md §2.2, plus the complex types libtorch 1.13 can hold.
constexpr std::array<StorageType, 12> kStorageTypes = {{
    {"FloatStorage", c10::ScalarType::Float},
    {"DoubleStorage", c10::ScalarType::Double},
    {"HalfStorage", c10::ScalarType::Half},
    {"BFloat16Storage", c10::ScalarType::BFloat16},
    {"LongStorage", c10::ScalarType::Long},
    {"IntStorage", c10::ScalarType::Int},
    {"ShortStorage", c10::ScalarType::Short},
    {"CharStorage", c10::ScalarType::Char},
    {"ByteStorage", c10::ScalarType::Byte},
    {"BoolStorage", c10::ScalarType::Bool},
    {"ComplexFloatStorage", c10::ScalarType::ComplexFloat},
    {"ComplexDoubleStorage", c10::ScalarType::ComplexDouble},
}};

std::optional<c10::ScalarType> scalar_type_of_storage(std::string_view name) {
  for (const StorageType& entry : kStorageTypes) {
    if (entry.name == name) return entry.type;
  }
  return std::nullopt;
}

std::string storage_type_list() {
  std::string list;
  for (const StorageType& entry : kStorageTypes) {
    if (!list.empty()) list += ", ";
    list += entry.name;
  }
  return list;
}

std::string ints(const std::vector<std::int64_t>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(values[i]);
  }
  return out + "]";
}

bool starts_with(std::span<const std::byte> bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size() && std::memcmp(bytes.data(), prefix.data(), prefix.size()) == 0;
}

// What the first bytes of a file that is not a zip archive look like, with a remedy where we can tell.
std::string describe_non_zip(std::span<const std::byte> bytes, std::string& remedy) {
  // torch < 1.6: a pickled magic number 0x1950a86a20f9469cfc6c (PROTO n, LONG1 10 bytes) starts the file.
  constexpr std::string_view kLegacyMagic("\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 12);
  if (bytes.size() >= 2 + kLegacyMagic.size() && bytes[0] == std::byte{0x80} &&
      std::memcmp(bytes.data() + 2, kLegacyMagic.data(), kLegacyMagic.size()) == 0) {
    remedy = "load it once with torch >= 1.6 and save it again (torch.save(torch.load(path), path)), or convert it "
             "to safetensors";
    return "the legacy format of torch < 1.6";
  }
  if (bytes.size() >= 262 && std::memcmp(bytes.data() + 257, "ustar", 5) == 0) {
    remedy = "load it once with torch >= 1.6 and save it again, or convert it to safetensors";
    return "a tar archive (the format of torch < 0.4)";
  }
  if (starts_with(bytes, "version https://git-lfs")) {
    remedy = "the weights were never downloaded; fetch them with `git lfs pull` or download the file from the Hub";
    return "a Git LFS pointer file";
  }
  if (bytes.size() >= 9 && bytes[8] == std::byte{'{'}) {
    remedy = "load it with autotimm::load_safetensors";
    return "what looks like a safetensors file";
  }
  if (starts_with(bytes, "<!DOCTYPE") || starts_with(bytes, "<html") || starts_with(bytes, "<HTML")) {
    remedy = "the download saved an error page; download the file again";
    return "an HTML page";
  }
  remedy = std::string(kResave);
  std::string got = "bytes";
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < std::min<std::size_t>(bytes.size(), 4); ++i) {
    const auto code = static_cast<unsigned>(bytes[i]);
    got += std::string(" ") + kHex[code >> 4] + kHex[code & 0xf];
  }
  return got;
}

class CheckpointReader {
 public:
  CheckpointReader(const std::filesystem::path& path, const TorchCheckpointOptions& options)
      : source_(std::filesystem::absolute(path).lexically_normal().string()), options_(options), file_(path) {}

  std::map<std::string, at::Tensor> load() {
    check_is_zip();
    archive_.emplace(detail::ZipArchive::parse(file_.bytes(), source_));
    find_prefix();
    check_byte_order();
    const detail::ZipEntry& pickle_entry = *archive_->find(prefix_ + "data.pkl");
    archive_->verify_crc32(pickle_entry);
    const detail::PickleDocument document =
        detail::read_pickle(archive_->data(pickle_entry), source_, pickle_entry.name);
    return state_dict(document.root());
  }

 private:
  [[noreturn]] void fail(const std::string& what, const std::string& expected, const std::string& got,
                         std::string_view remedy = kResave) const {
    throw FormatError(what + ": '" + source_ + "': expected " + expected + ", got " + got + "; " + std::string(remedy));
  }

  [[noreturn]] void fail_key(const std::string& what, const std::string& key, const std::string& expected,
                             const std::string& got, std::string_view remedy = kResave) const {
    throw FormatError(what + ": '" + detail::printable_text(key) + "' in '" + source_ + "': expected " + expected +
                      ", got " + got + "; " + std::string(remedy));
  }

  void check_is_zip() const {
    const std::span<const std::byte> bytes = file_.bytes();
    if (bytes.empty()) {
      fail("empty torch checkpoint", "a zip archive written by torch.save (torch >= 1.6)", "0 bytes",
           "the file is empty (an interrupted download or save?); download or save it again");
    }
    if (starts_with(bytes, "PK\x03\x04") || starts_with(bytes, "PK\x05\x06")) return;
    std::string remedy;
    const std::string got = describe_non_zip(bytes, remedy);
    fail("not a torch zip checkpoint", "a zip archive written by torch.save (torch >= 1.6, starting with PK\\x03\\x04)",
         got, remedy);
  }

  // The folder holding data.pkl: torch puts every record under one top-level folder (the file's stem or 'archive').
  // Like torch's reader, prefer the first entry's folder; accept any name.
  void find_prefix() {
    const std::vector<detail::ZipEntry>& entries = archive_->entries();
    std::vector<std::string> candidates;
    for (const detail::ZipEntry& entry : entries) {
      const std::string_view name = entry.name;
      const std::size_t slash = name.find('/');
      if (slash != std::string_view::npos && slash > 0 && name.substr(slash + 1) == "data.pkl") {
        candidates.emplace_back(name.substr(0, slash + 1));
      }
    }
    if (candidates.empty()) {
      std::string got;
      for (std::size_t i = 0; i < std::min<std::size_t>(entries.size(), 8); ++i) {
        got += (i == 0 ? "" : ", ") + ("'" + detail::printable_text(entries[i].name, 80) + "'");
      }
      if (entries.size() > 8) got += ", … (" + std::to_string(entries.size()) + " entries)";
      fail("missing data.pkl in torch checkpoint", "a record '<folder>/data.pkl', as torch.save writes",
           got.empty() ? "an empty archive" : "only " + got,
           "the zip archive was not written by torch.save; " + std::string(kResave));
    }
    prefix_ = candidates.front();
    const std::string_view first = entries.front().name;
    for (const std::string& candidate : candidates) {
      if (first.starts_with(candidate)) prefix_ = candidate;
    }
    torchscript_ = archive_->find(prefix_ + "constants.pkl") != nullptr;
  }

  void check_byte_order() const {
    const detail::ZipEntry* entry = archive_->find(prefix_ + "byteorder");
    if (entry == nullptr) return;  // torch before 1.13 wrote none: little-endian
    const std::span<const std::byte> bytes = archive_->data(*entry);
    const std::string_view order(reinterpret_cast<const char*>(bytes.data()), std::min<std::size_t>(bytes.size(), 16));
    if (order != "little") {
      fail("unsupported byte order in torch checkpoint", "'little'", "'" + detail::printable_text(order) + "'",
           "load and save it again with torch on a little-endian machine, or convert it to safetensors");
    }
  }

  // docs/hub.md §7.2 step 8, as timm's _get_state_dict and clean_state_dict.
  std::map<std::string, at::Tensor> state_dict(const PickleValue& root) {
    if (root.kind != PickleKind::dict) {
      const std::string remedy =
          torchscript_ ? "this is a TorchScript archive (torch.jit.save or C++ torch::save), not a state dict; save "
                         "model.state_dict() with torch.save from Python, or convert the weights to safetensors"
                       : std::string(kResave);
      fail("unsupported torch checkpoint content", "a dict (a state dict, or a checkpoint holding one)",
           detail::describe(root), remedy);
    }
    const PickleValue* weights = &root;
    std::string chosen;
    const auto take = [&](std::string_view key) {
      const PickleValue* value = detail::find_string_key(root, key);
      if (value == nullptr || value->kind == PickleKind::none || value->kind == PickleKind::tensor) return false;
      if (value->kind != PickleKind::dict) {
        fail_key("unsupported torch checkpoint entry", std::string(key), "a dict of tensors", detail::describe(*value));
      }
      weights = value;
      chosen = key;
      return true;
    };
    bool found = options_.use_ema && (take("state_dict_ema") || take("model_ema"));
    if (options_.use_ema && !found) {
      spdlog::warn("torch checkpoint '{}': use_ema is set but it holds no 'state_dict_ema' or 'model_ema'; loading "
                   "the regular weights", source_);
    }
    if (!found) found = take("state_dict") || take("model");
    spdlog::debug("torch checkpoint '{}': weights from {}", source_, found ? "'" + chosen + "'" : "the top level");

    std::map<std::string, at::Tensor> tensors;
    std::map<std::string, std::string> original_names;
    for (std::size_t i = 0; i + 1 < weights->items.size(); i += 2) {
      const PickleValue& key = *weights->items[i];
      const PickleValue& value = *weights->items[i + 1];
      if (key.kind != PickleKind::string) {
        fail("invalid state dict key" + (found ? " under '" + chosen + "'" : std::string()), "string keys",
             detail::describe(key), weights_remedy(root, found));
      }
      std::string name = key.text;
      for (const std::string_view prefix : {std::string_view("module."), std::string_view("_orig_mod.")}) {
        if (name.starts_with(prefix)) name.erase(0, prefix.size());
      }
      const at::Tensor tensor = to_tensor(key.text, value, root, found);
      const auto [it, inserted] = original_names.emplace(name, key.text);
      if (!inserted) {
        fail_key("duplicate state dict key", name, "each key once after stripping 'module.' and '_orig_mod.'",
                 "'" + detail::printable_text(it->second) + "' and '" + detail::printable_text(key.text) + "'",
                 "remove one of them from the checkpoint and save it again");
      }
      tensors.emplace(std::move(name), tensor);
    }
    return tensors;
  }

  std::string weights_remedy(const PickleValue& root, bool found) const {
    if (found) return std::string(kResave);
    std::string keys;
    std::size_t listed = 0;
    for (std::size_t i = 0; i + 1 < root.items.size() && listed < 8; i += 2, ++listed) {
      const PickleValue& key = *root.items[i];
      if (listed > 0) keys += ", ";
      keys += key.kind == PickleKind::string ? "'" + detail::printable_text(key.text, 60) + "'" : detail::describe(key);
    }
    if (root.items.size() / 2 > listed) keys += ", …";
    return "weights are read from 'state_dict' or 'model' (with use_ema, 'state_dict_ema' or 'model_ema') when the "
           "checkpoint has them, else from the top level, whose keys are " + keys +
           "; save the state dict itself, or under one of those keys";
  }

  at::Tensor to_tensor(const std::string& key, const PickleValue& value, const PickleValue& root, bool found) {
    if (value.kind == PickleKind::tensor) {
      try {
        return materialize(key, *value.tensor);
      } catch (const c10::Error& error) {  // every input was checked above; this is a last line of defence
        fail_key("cannot build tensor", key, "a tensor libtorch can create", error.what_without_backtrace(),
                 "the checkpoint may be corrupt; download or save it again");
      }
    }
    if (value.kind == PickleKind::object) {
      fail_key("tensor built by a function that is not allowed", key,
               "a tensor from torch._utils._rebuild_tensor_v2 or _rebuild_parameter", detail::describe(value),
               "nothing from the file was run; " + std::string(kResave));
    }
    fail_key("invalid state dict entry", key, "a tensor", detail::describe(value), weights_remedy(root, found));
  }

  const detail::ZipEntry& storage_record(const std::string& key, const detail::PickleStorageRef& storage,
                                         c10::ScalarType type) {
    const std::string record = prefix_ + "data/" + storage.key;
    const detail::ZipEntry* entry = archive_->find(record);
    if (entry == nullptr) {
      fail_key("missing storage record for tensor", key, "a record '" + detail::printable_text(record) + "'", "none",
               "the archive is incomplete; download or save it again");
    }
    const std::uint64_t element_size = c10::elementSize(type);
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(static_cast<std::uint64_t>(storage.numel), element_size, &bytes) ||
        bytes != entry->size) {
      fail_key("storage record size mismatch for tensor", key,
               std::to_string(storage.numel) + " elements of " + std::to_string(element_size) + " bytes in '" +
                   detail::printable_text(record) + "'",
               std::to_string(entry->size) + " bytes", "the archive is corrupt; download or save it again");
    }
    if (verified_records_.insert(record).second) archive_->verify_crc32(*entry);
    return *entry;
  }

  at::Tensor materialize(const std::string& key, const PickleTensorRef& ref) {
    const detail::PickleStorageRef& storage = *ref.storage;
    const std::optional<c10::ScalarType> type = scalar_type_of_storage(storage.type);
    if (!type) {
      fail_key("unsupported storage type for tensor", key,
               "one libtorch " + std::string(TORCH_VERSION) + " can hold (" + storage_type_list() + ")",
               "torch." + detail::printable_text(storage.type, 60),
               "convert the tensor to one of those dtypes before saving, or convert the weights to safetensors");
    }
    const detail::ZipEntry& entry = storage_record(key, storage, *type);
    const std::vector<std::int64_t>& size = ref.size;
    const std::vector<std::int64_t>& stride = ref.stride;
    const auto bad_view = [&](const std::string& expected) {
      fail_key("invalid tensor view", key, expected,
               "storage_offset " + std::to_string(ref.storage_offset) + ", size " + ints(size) + ", stride " +
                   ints(stride),
               "the checkpoint is corrupt; download or save it again");
    };
    if (size.size() > kMaxRank) bad_view("at most " + std::to_string(kMaxRank) + " dimensions");
    if (ref.storage_offset < 0) bad_view("a storage_offset of 0 or more");
    std::int64_t numel = 1;
    for (std::size_t d = 0; d < size.size(); ++d) {
      if (size[d] < 0 || stride[d] < 0) bad_view("sizes and strides of 0 or more");
      if (__builtin_mul_overflow(numel, size[d], &numel)) bad_view("an element count that fits in 64 bits");
    }
    const c10::ScalarType copy_type = *type == c10::ScalarType::Bool ? c10::ScalarType::Byte : *type;
    at::Tensor result;
    if (numel == 0) {
      result = torch::empty(size, torch::TensorOptions().dtype(copy_type));
    } else {
      // The last element the view reaches, offset + Σ (size − 1) × stride, must lie inside the storage.
      std::int64_t last = ref.storage_offset;
      for (std::size_t d = 0; d < size.size(); ++d) {
        std::int64_t reach = 0;
        if (__builtin_mul_overflow(size[d] - 1, stride[d], &reach) || __builtin_add_overflow(last, reach, &last)) {
          bad_view("a view whose extent fits in 64 bits");
        }
      }
      if (last >= storage.numel) {
        fail_key("tensor view past the end of its storage", key,
                 "elements below " + std::to_string(storage.numel) + " (the size of storage '" +
                     detail::printable_text(storage.key) + "')",
                 "storage_offset " + std::to_string(ref.storage_offset) + ", size " + ints(size) + ", stride " +
                     ints(stride) + " reaching element " + std::to_string(last),
                 "the checkpoint is corrupt; download or save it again");
      }
      // The copy is bounded by the file: a view with more elements than its storage (an expanded or overlapping
      // view, which model.state_dict() never holds) could ask for any amount of memory.
      if (numel > storage.numel) {
        fail_key("unsupported tensor view", key,
                 "at most as many elements as its storage '" + detail::printable_text(storage.key) + "' (" +
                     std::to_string(storage.numel) + "); expanded or overlapping views are not loaded",
                 std::to_string(numel) + " elements (size " + ints(size) + ", stride " + ints(stride) + ")",
                 "save tensor.contiguous() (or tensor.clone()) in the state dict instead");
      }
      const std::int64_t span = last - ref.storage_offset + 1;
      const std::size_t element_size = c10::elementSize(*type);
      at::Tensor buffer = torch::empty({span}, torch::TensorOptions().dtype(copy_type));
      const std::span<const std::byte> record = archive_->data(entry);
      std::memcpy(buffer.data_ptr(), record.data() + static_cast<std::size_t>(ref.storage_offset) * element_size,
                  static_cast<std::size_t>(span) * element_size);
      result = buffer.as_strided(size, stride, 0).contiguous();
    }
    if (*type == c10::ScalarType::Bool) result = result.ne(0);
    if (ref.negative) {
      if (*type == c10::ScalarType::Bool) {
        fail_key("invalid tensor metadata", key, "'neg' only on numeric tensors", "a negated bool tensor");
      }
      result = result.neg();
    }
    if (ref.conjugate && result.is_complex()) result = result.conj().resolve_conj();
    const std::optional<c10::ScalarType> target =
        c10::isFloatingType(*type) ? options_.floating_target : std::nullopt;
    if (target && *target != result.scalar_type()) result = result.to(*target);
    return result;
  }

  std::string source_;
  const TorchCheckpointOptions& options_;
  detail::MappedFile file_;
  std::optional<detail::ZipArchive> archive_;
  std::string prefix_;  // "<folder>/"
  bool torchscript_ = false;
  std::set<std::string> verified_records_;
};

}  // namespace

std::map<std::string, at::Tensor> load_torch_checkpoint(const std::filesystem::path& path,
                                                        std::optional<c10::ScalarType> floating_target) {
  return load_torch_checkpoint(path, TorchCheckpointOptions{.floating_target = floating_target});
}

std::map<std::string, at::Tensor> load_torch_checkpoint(const std::filesystem::path& path,
                                                        const TorchCheckpointOptions& options) {
  if (options.floating_target && !c10::isFloatingType(*options.floating_target)) {
    throw ConfigError("invalid floating_target for '" + std::filesystem::absolute(path).lexically_normal().string() +
                      "': expected a floating dtype (Half, BFloat16, Float, Double), got " +
                      c10::toString(*options.floating_target) +
                      "; pass e.g. torch::kFloat32, or nothing to keep file dtypes");
  }
  return CheckpointReader(path, options).load();
}

}  // namespace autotimm
