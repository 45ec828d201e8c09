#include "autotimm/layers/layer_scale.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"

namespace autotimm::layers {

LayerScaleImpl::LayerScaleImpl(LayerScaleOptions options_) : options(options_) {
  if (options.dim <= 0) throw ConfigError("LayerScale: 'dim': expected at least 1, got " + std::to_string(options.dim));
  gamma = register_parameter("gamma", torch::empty({options.dim}));
  reset_parameters();
}

LayerScaleImpl::~LayerScaleImpl() = default;

void LayerScaleImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  gamma.fill_(options.init_values);
}

at::Tensor LayerScaleImpl::forward(const at::Tensor& x) {
  if (options.inplace) {
    at::Tensor y = x;
    return y.mul_(gamma);
  }
  return x * gamma;
}

void LayerScaleImpl::pretty_print(std::ostream& stream) const {
  stream << "autotimm::layers::LayerScale(dim=" << options.dim << ", init_values=" << options.init_values << ")";
}

}  // namespace autotimm::layers
