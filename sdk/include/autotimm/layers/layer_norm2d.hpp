#pragma once
// LayerNorm over the channels of NCHW maps, as timm's LayerNorm2d (timm/layers/norm.py): the map is viewed as NHWC,
// normalised over C with F.layer_norm, and viewed back, so the numbers equal timm's. State dict keys: `weight` [C],
// `bias` [C]. For channels-last tensors ([..., C]) use torch::nn::LayerNorm with eps 1e-6 (timm's LayerNorm).
//
//   autotimm::layers::LayerNorm2d norm({.num_channels = 96});   // eps 1e-6, as timm
//   torch::Tensor y = norm(x);                                   // [N, 96, H, W] → [N, 96, H, W]
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

#include "autotimm/export.hpp"

namespace autotimm::layers {

struct LayerNorm2dOptions {
  std::int64_t num_channels = 0;
  double eps = 1e-6;   ///< timm's default (torch's nn.LayerNorm uses 1e-5)
  bool affine = true;  ///< learnable weight (ones) and bias (zeros)
};

class AUTOTIMM_API LayerNorm2dImpl : public torch::nn::Module {
 public:
  explicit LayerNorm2dImpl(LayerNorm2dOptions options);
  ~LayerNorm2dImpl() override;

  /// [N, C, H, W] → same shape (any memory format).
  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  LayerNorm2dOptions options;
  at::Tensor weight;  ///< undefined when !affine
  at::Tensor bias;
};
TORCH_MODULE(LayerNorm2d);

}  // namespace autotimm::layers
