#include "autotimm/layers/grn.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"

namespace autotimm::layers {

GlobalResponseNormImpl::GlobalResponseNormImpl(GlobalResponseNormOptions options_) : options(options_) {
  if (options.dim < 1) {
    throw ConfigError("GlobalResponseNorm: 'dim': expected at least 1, got " + std::to_string(options.dim));
  }
  weight = register_parameter("weight", torch::zeros({options.dim}));
  bias = register_parameter("bias", torch::zeros({options.dim}));
}

GlobalResponseNormImpl::~GlobalResponseNormImpl() = default;

at::Tensor GlobalResponseNormImpl::forward(const at::Tensor& x) {
  const std::int64_t channel_dim = options.channels_last ? 3 : 1;
  TORCH_CHECK(x.dim() == 4 && x.size(channel_dim) == options.dim, "GlobalResponseNorm(", options.dim, "): expected ",
              options.channels_last ? "[N, H, W, C]" : "[N, C, H, W]", " with C = ", options.dim, ", got ", x.sizes());
  const std::vector<std::int64_t> spatial =
      options.channels_last ? std::vector<std::int64_t>{1, 2} : std::vector<std::int64_t>{2, 3};
  const std::vector<std::int64_t> affine_shape =
      options.channels_last ? std::vector<std::int64_t>{1, 1, 1, -1} : std::vector<std::int64_t>{1, -1, 1, 1};
  // The operations and their order are timm's, so float rounding matches too.
  const at::Tensor norms = x.norm(2, spatial, /*keepdim=*/true);
  const at::Tensor relative = norms / (norms.mean({channel_dim}, /*keepdim=*/true) + options.eps);
  return x + torch::addcmul(bias.view(affine_shape), weight.view(affine_shape), x * relative);
}

void GlobalResponseNormImpl::pretty_print(std::ostream& stream) const {
  stream << "autotimm::layers::GlobalResponseNorm(" << options.dim
         << (options.channels_last ? ", channels_last" : ", channels_first") << ")";
}

}  // namespace autotimm::layers
