#pragma once
// Squeeze-and-Excitation channel attention, as timm's SEModule (timm/layers/squeeze_excite.py): global average →
// fc1 (1×1 conv with bias) → act → fc2 (1×1 conv with bias) → gate, multiplied into the input.
// State dict keys: fc1.weight [rd, C, 1, 1], fc1.bias, fc2.weight [C, rd, 1, 1], fc2.bias.
//
//   autotimm::layers::SEModule se({.channels = 256});       // rd_channels = make_divisible(256 / 16, 8) = 16
//   torch::Tensor y = se(x);
#include <cstdint>
#include <optional>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "autotimm/export.hpp"
#include "autotimm/layers/activations.hpp"

namespace autotimm::layers {

struct SEModuleOptions {
  std::int64_t channels = 0;
  double rd_ratio = 1.0 / 16.0;                   ///< reduction channels = make_divisible(channels × rd_ratio, ...)
  std::optional<std::int64_t> rd_channels = {};   ///< set: used as is instead of the ratio
  std::int64_t rd_divisor = 8;
  bool add_maxpool = false;  ///< squeeze with 0.5 · (mean + max) instead of the mean
  bool bias = true;
  Activation act_layer = Activation::relu;
  Activation gate_layer = Activation::sigmoid;
};

/// The reduction width timm computes: rd_channels when set, else make_divisible(channels × rd_ratio, rd_divisor,
/// round_limit = 0).
AUTOTIMM_API std::int64_t se_reduction_channels(const SEModuleOptions& options);

class AUTOTIMM_API SEModuleImpl : public torch::nn::Module {
 public:
  explicit SEModuleImpl(SEModuleOptions options);
  ~SEModuleImpl() override;

  at::Tensor forward(const at::Tensor& x);

  SEModuleOptions options;
  torch::nn::Conv2d fc1{nullptr};
  torch::nn::Conv2d fc2{nullptr};
};
TORCH_MODULE(SEModule);

}  // namespace autotimm::layers
