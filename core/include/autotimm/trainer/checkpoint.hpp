#pragma once
// The checkpoint file: a safetensors file (mmap-able, safe to open, readable by Python) holding
//   model.<key>        the task's parameters and buffers (model.backbone.conv1.weight, model.head.fc.weight, ...)
//   optimizer.<...>    the optimizer state (optimizer_state_tensors)
//   rng.torch_cpu      the CPU generator state (dropout, drop-path), uint8
// and one metadata entry, "autotimm", a JSON object: format_version, task, hparams, data_config, class names, epoch,
// global_step, batches done in the epoch, scheduler state, callback states, and the trainer's monitor.
//
//   auto ckpt = autotimm::read_checkpoint("logs/version_0/checkpoints/last.ckpt");
//   auto epoch = ckpt.meta.at("epoch").as_int64();
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include <boost/json/object.hpp>
#include <torch/types.h>

#include "autotimm/export.hpp"

namespace autotimm {

inline constexpr std::int64_t kCheckpointFormatVersion = 1;
/// The safetensors metadata key that holds the checkpoint's JSON.
inline constexpr const char* kCheckpointMetadataKey = "autotimm";

struct Checkpoint {
  std::map<std::string, torch::Tensor> tensors = {};
  boost::json::object meta = {};

  /// The tensors under `prefix` ("model."), with the prefix removed.
  AUTOTIMM_API std::map<std::string, torch::Tensor> with_prefix(const std::string& prefix) const;
};

/// Reads a checkpoint. A file that is not one (plain weights, another format, a newer format version) is a
/// FormatError that says what it is and what to do.
AUTOTIMM_API Checkpoint read_checkpoint(const std::filesystem::path& path);
/// Writes `checkpoint` atomically (a crash leaves the previous file); the format version is set here.
AUTOTIMM_API void write_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);

/// "best-epoch=3-val_loss=0.4211.ckpt": the prefix, the epoch, and the monitored value with `/` made `_`.
AUTOTIMM_API std::string checkpoint_file_name(const std::string& prefix, std::int64_t epoch,
                                              const std::string& monitor, double value);

}  // namespace autotimm
