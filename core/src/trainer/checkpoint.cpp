#include "autotimm/trainer/checkpoint.hpp"

#include <cmath>
#include <cstdio>

#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "autotimm/io/safetensors.hpp"
#include "autotimm/io/safetensors_torch.hpp"

namespace autotimm {

std::map<std::string, torch::Tensor> Checkpoint::with_prefix(const std::string& prefix) const {
  std::map<std::string, torch::Tensor> out;
  for (auto it = tensors.lower_bound(prefix); it != tensors.end() && it->first.starts_with(prefix); ++it) {
    out.emplace(it->first.substr(prefix.size()), it->second);
  }
  return out;
}

Checkpoint read_checkpoint(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    throw NotFoundError("checkpoint '" + path.string() + "' does not exist");
  }
  const auto reader = SafetensorsReader::open(path);
  const auto& metadata = reader.metadata();
  const auto entry = metadata.find(kCheckpointMetadataKey);
  if (entry == metadata.end()) {
    throw FormatError("'" + path.string() + "' is a safetensors file without AutoTimm checkpoint metadata (plain "
                      "weights?); load weights with create_backbone(..., {.pretrained_file = ...}) instead");
  }
  Checkpoint checkpoint;
  boost::system::error_code ec;
  auto meta = boost::json::parse(entry->second, ec);
  if (ec || !meta.is_object()) {
    throw FormatError("checkpoint '" + path.string() + "': its '" + kCheckpointMetadataKey +
                      "' metadata is not a JSON object");
  }
  checkpoint.meta = std::move(meta.as_object());
  const auto* version = checkpoint.meta.if_contains("format_version");
  if (version == nullptr || !version->is_int64()) {
    throw FormatError("checkpoint '" + path.string() + "' has no format_version");
  }
  if (version->as_int64() > kCheckpointFormatVersion) {
    throw FormatError("checkpoint '" + path.string() + "' has format version " + std::to_string(version->as_int64()) +
                      ", this autotimm reads up to " + std::to_string(kCheckpointFormatVersion) +
                      "; upgrade autotimm");
  }
  for (const auto& info : reader.tensors()) checkpoint.tensors.emplace(info.name, to_tensor(reader, info));
  return checkpoint;
}

void write_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint) {
  boost::json::object meta = checkpoint.meta;
  meta["format_version"] = kCheckpointFormatVersion;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  save_safetensors(path, checkpoint.tensors, {{kCheckpointMetadataKey, boost::json::serialize(meta)}});
}

std::string checkpoint_file_name(const std::string& prefix, std::int64_t epoch, const std::string& monitor,
                                 double value) {
  std::string metric = monitor;
  for (char& c : metric) {
    if (c == '/') c = '_';
  }
  char number[64];
  std::snprintf(number, sizeof number, "%.4f", value);
  return prefix + "-epoch=" + std::to_string(epoch) + "-" + metric + "=" + number + ".ckpt";
}

}  // namespace autotimm
