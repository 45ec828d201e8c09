#pragma once
// Efficient Channel Attention, as timm's EcaModule (timm/layers/eca.py): global average → a 1-D conv across channels
// (no bias, kernel size adapted to the channel count) → sigmoid gate, multiplied into the input.
// State dict key: conv.weight [1, 1, k].
//
//   autotimm::layers::EcaModule eca({.channels = 256});     // k = 5
//   torch::Tensor y = eca(x);
#include <cstdint>
#include <optional>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "autotimm/export.hpp"
#include "autotimm/layers/activations.hpp"

namespace autotimm::layers {

struct EcaModuleOptions {
  std::optional<std::int64_t> channels = {};  ///< set: kernel size from |log2(channels) + beta| / gamma (odd, ≥ 3)
  std::int64_t kernel_size = 3;               ///< used when channels is unset; must be odd
  double gamma = 2.0;
  double beta = 1.0;
  Activation gate_layer = Activation::sigmoid;
};

/// The kernel size timm derives: from the channels when given, else options.kernel_size.
AUTOTIMM_API std::int64_t eca_kernel_size(const EcaModuleOptions& options);

class AUTOTIMM_API EcaModuleImpl : public torch::nn::Module {
 public:
  explicit EcaModuleImpl(EcaModuleOptions options);
  ~EcaModuleImpl() override;

  at::Tensor forward(const at::Tensor& x);

  EcaModuleOptions options;
  torch::nn::Conv1d conv{nullptr};
};
TORCH_MODULE(EcaModule);

}  // namespace autotimm::layers
