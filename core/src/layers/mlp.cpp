#include "autotimm/layers/mlp.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"

namespace autotimm::layers {

MlpImpl::MlpImpl(MlpOptions options_) : options(options_) {
  if (options.hidden_features == 0) options.hidden_features = options.in_features;
  if (options.out_features == 0) options.out_features = options.in_features;
  if (options.in_features <= 0 || options.hidden_features <= 0 || options.out_features <= 0) {
    throw ConfigError("Mlp: expected positive widths, got in_features " + std::to_string(options.in_features) +
                      ", hidden_features " + std::to_string(options.hidden_features) + ", out_features " +
                      std::to_string(options.out_features));
  }
  if (!(options.drop >= 0.0 && options.drop < 1.0)) {
    throw ConfigError("Mlp: 'drop': expected a probability in [0, 1), got " + std::to_string(options.drop));
  }
  const auto linear = [&](std::int64_t in, std::int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(options.bias));
  };
  fc1 = register_module("fc1", linear(options.in_features, options.hidden_features));
  fc2 = register_module("fc2", linear(options.hidden_features, options.out_features));
}

MlpImpl::~MlpImpl() = default;

at::Tensor MlpImpl::forward(const at::Tensor& x) {
  at::Tensor y = apply_activation(options.act_layer, fc1->forward(x));
  if (options.drop > 0.0) y = torch::dropout(y, options.drop, is_training());
  y = fc2->forward(y);
  if (options.drop > 0.0) y = torch::dropout(y, options.drop, is_training());
  return y;
}

void MlpImpl::pretty_print(std::ostream& stream) const {
  stream << "autotimm::layers::Mlp(in_features=" << options.in_features << ", hidden_features="
         << options.hidden_features << ", out_features=" << options.out_features << ", act_layer="
         << activation_name(options.act_layer) << ")";
}

}  // namespace autotimm::layers
