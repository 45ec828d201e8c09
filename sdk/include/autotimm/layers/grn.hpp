#pragma once
// Global Response Normalization, as timm's GlobalResponseNorm (timm/layers/grn.py, from ConvNeXt-V2): each channel's
// L2 norm over the spatial dims, divided by the mean of those norms over the channels, rescales the input:
//   y = x + bias + weight · x · (‖x_c‖ / (mean_c ‖x_c‖ + eps))
// State dict keys: `weight` [C], `bias` [C], both zero-initialised (so a fresh GRN is the identity).
//
//   autotimm::layers::GlobalResponseNorm grn({.dim = 384, .channels_last = true});   // x is [N, H, W, 384]
//   torch::Tensor y = grn(x);
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

#include "autotimm/export.hpp"

namespace autotimm::layers {

struct GlobalResponseNormOptions {
  std::int64_t dim = 0;
  double eps = 1e-6;
  bool channels_last = true;  ///< [N, H, W, C] input (timm's default); false: [N, C, H, W]
};

class AUTOTIMM_API GlobalResponseNormImpl : public torch::nn::Module {
 public:
  explicit GlobalResponseNormImpl(GlobalResponseNormOptions options);
  ~GlobalResponseNormImpl() override;

  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  GlobalResponseNormOptions options;
  at::Tensor weight;
  at::Tensor bias;
};
TORCH_MODULE(GlobalResponseNorm);

}  // namespace autotimm::layers
