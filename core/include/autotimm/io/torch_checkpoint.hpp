#pragma once
// PyTorch checkpoints (`pytorch_model.bin`, `*.pth`, `*.pth.tar`) → a state dict, without Python and without running
// anything from the file: the fallback for Hub repos that ship no model.safetensors, and for local timm training
// checkpoints. Format: docs/formats.md §2 (the zip archive torch.save has written since torch 1.6).
//
//   // weights as float32; integer buffers such as bn1.num_batches_tracked stay int64.
//   auto state = autotimm::load_torch_checkpoint("pytorch_model.bin", torch::kFloat32);
//   // a timm training checkpoint, preferring its EMA weights
//   auto ema = autotimm::load_torch_checkpoint("model_best.pth.tar", {.use_ema = true});
//
// data.pkl is read by a restricted unpickler that knows exactly the globals of a state dict
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,
// torch._utils._rebuild_parameter_with_state, torch._tensor._rebuild_from_type_v2 for plain tensors, and the
// torch.<T>Storage types of persistent ids). Other globals — argparse.Namespace in a training checkpoint's 'args',
// numpy scalars — are never imported or called; they stay opaque, so a checkpoint holding them beside its weights
// still loads, and a tensor built by any of them is a FormatError that names the global.
#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "autotimm/export.hpp"

namespace autotimm {

/// How load_torch_checkpoint picks and converts the weights.
struct TorchCheckpointOptions {
  /// As load_safetensors: floating tensors (Half, BFloat16, Float, Double) are converted to this floating dtype; the
  /// others keep their dtype, so int64 counters stay int64. Unset keeps every dtype of the file.
  std::optional<c10::ScalarType> floating_target = {};
  /// timm's use_ema: take 'state_dict_ema', else 'model_ema', when the checkpoint has one.
  bool use_ema = false;
};

/// The state dict stored at `path`, as contiguous CPU tensors that share no memory (views of one storage become
/// separate copies; tensors saved on a GPU load on the CPU).
///
/// Unwrapping follows timm's load_checkpoint (docs/hub.md §7.2 step 8): when the top-level dict holds a dict under
/// 'state_dict_ema' or 'model_ema' (only with use_ema), else 'state_dict', else 'model', that dict is the state dict;
/// otherwise the top-level dict is. The prefixes 'module.' (DDP) and then '_orig_mod.' (torch.compile) are stripped
/// from every key.
///
/// A missing or unreadable file is an IoError. A file that is not a torch ≥ 1.6 zip checkpoint (including the legacy
/// pre-1.6 format, and compressed archives), a corrupt one, a state dict entry that is not a tensor, a tensor built by
/// a global outside the allow-list, a view reaching past its storage, or two keys equal once stripped, is a FormatError
/// naming the file and, where there is one, the key. A non-floating `floating_target` is a ConfigError.
/// The file is memory-mapped while it is read: it must not be truncated meanwhile (the process would get SIGBUS).
AUTOTIMM_API std::map<std::string, at::Tensor> load_torch_checkpoint(
    const std::filesystem::path& path, std::optional<c10::ScalarType> floating_target = std::nullopt);

/// The same, with every option.
AUTOTIMM_API std::map<std::string, at::Tensor> load_torch_checkpoint(const std::filesystem::path& path,
                                                                      const TorchCheckpointOptions& options);

}  // namespace autotimm
