#pragma once
// Loading a state dict (parameter and buffer tensors by timm name) into a module, the way timm does: strict by
// default, every offender reported, the classifier dropped when class counts differ, the first conv adapted when the
// number of input channels differs.
//
//   auto tensors = autotimm::load_safetensors("model.safetensors", torch::kFloat32);
//   autotimm::load_state_dict(*net, std::move(tensors), {.source = "model.safetensors"});
#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "autotimm/export.hpp"

namespace autotimm {

struct StateDictLoadOptions {
  std::string source = "<state dict>";  ///< named in messages: a path or "resnet50.a1_in1k"
  bool strict = true;                   ///< missing or unexpected keys are an error (else reported and skipped)
  std::string classifier = {};          ///< prefix of the classifier ("fc"), or several separated by commas
                                        ///< ("head,head_dist"); dropped when its shapes differ
  std::string first_conv = {};          ///< prefix of the first conv ("conv1"); its weight adapted to in_chans
};

struct StateDictLoadReport {
  std::vector<std::string> missing;     ///< model keys the file lacks (non-strict only)
  std::vector<std::string> unexpected;  ///< file keys the model lacks (non-strict only)
  std::vector<std::string> dropped;     ///< classifier keys left at their fresh values
  std::vector<std::string> adapted;     ///< keys the model's StateDictAdapter rewrote, then first-conv keys whose
                                        ///< input channels were adapted
};

/// The module's parameters and buffers by dotted name (timm's state_dict keys), in registration order.
AUTOTIMM_API std::vector<std::pair<std::string, torch::Tensor>> state_dict(const torch::nn::Module& module);

/// Copies `tensors` into `module` (converted to each target's dtype), after the module's StateDictAdapter, when it has
/// one, adapted them (autotimm/state_dict_adapter.hpp). Throws FormatError listing the first ten missing
/// and unexpected keys, and every shape mismatch, when strict; shapes must always match except where the classifier
/// and first-conv rules apply.
AUTOTIMM_API StateDictLoadReport load_state_dict(torch::nn::Module& module, std::map<std::string, torch::Tensor> tensors,
                                                 const StateDictLoadOptions& options = {});

/// timm's adapt_input_conv: a [O, I, kh, kw] weight made for I input channels, adapted to `in_chans`: summed when
/// in_chans is 1, repeated and rescaled by I / in_chans otherwise.
AUTOTIMM_API torch::Tensor adapt_input_conv(const torch::Tensor& weight, std::int64_t in_chans);

}  // namespace autotimm
