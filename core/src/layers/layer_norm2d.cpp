#include "autotimm/layers/layer_norm2d.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"

namespace autotimm::layers {

LayerNorm2dImpl::LayerNorm2dImpl(LayerNorm2dOptions options_) : options(options_) {
  if (options.num_channels < 1) {
    throw ConfigError("LayerNorm2d: 'num_channels': expected at least 1, got " + std::to_string(options.num_channels));
  }
  if (!(options.eps > 0.0)) throw ConfigError("LayerNorm2d: 'eps': expected > 0, got " + std::to_string(options.eps));
  if (options.affine) {
    weight = register_parameter("weight", torch::ones({options.num_channels}));
    bias = register_parameter("bias", torch::zeros({options.num_channels}));
  }
}

LayerNorm2dImpl::~LayerNorm2dImpl() = default;

at::Tensor LayerNorm2dImpl::forward(const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options.num_channels, "LayerNorm2d(", options.num_channels,
              "): expected [N, ", options.num_channels, ", H, W], got ", x.sizes());
  // Same kernel and reduction order as timm: layer_norm over the last dim of the NHWC view.
  return torch::layer_norm(x.permute({0, 2, 3, 1}), {options.num_channels}, weight, bias, options.eps)
      .permute({0, 3, 1, 2});
}

void LayerNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << "autotimm::layers::LayerNorm2d(" << options.num_channels << ", eps=" << options.eps << ")";
}

}  // namespace autotimm::layers
