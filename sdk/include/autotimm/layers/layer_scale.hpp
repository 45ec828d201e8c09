#pragma once
// Per-channel learnable scale of a residual branch ("LayerScale", CaiT), as timm's layers/layer_scale.py: y = x · γ
// over the last dimension, γ initialised to `init_values`. State dict key `gamma` under the owner's name
// ("blocks.0.ls1.gamma").
//
//   autotimm::layers::LayerScale ls1(autotimm::layers::LayerScaleOptions{.dim = 384, .init_values = 1e-5});
//   x = x + ls1(attn(norm1(x)));
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "autotimm/export.hpp"

namespace autotimm::layers {

struct LayerScaleOptions {
  std::int64_t dim = 0;
  double init_values = 1e-5;
  bool inplace = false;  ///< multiply the input in place (timm's inplace=True); never under autograd of the input
};

class AUTOTIMM_API LayerScaleImpl : public torch::nn::Module {
 public:
  /// ConfigError when `dim` is not positive.
  explicit LayerScaleImpl(LayerScaleOptions options);
  ~LayerScaleImpl() override;

  /// Sets γ back to init_values.
  void reset_parameters();
  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  LayerScaleOptions options;
  at::Tensor gamma;
};
TORCH_MODULE(LayerScale);

}  // namespace autotimm::layers
