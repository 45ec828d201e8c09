#include "autotimm/layers/activations.hpp"

#include <torch/torch.h>

#include <array>
#include <utility>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"

namespace autotimm::layers {
namespace {

constexpr std::array<std::pair<Activation, std::string_view>, 14> kNames = {{
    {Activation::identity, "identity"},
    {Activation::relu, "relu"},
    {Activation::relu6, "relu6"},
    {Activation::leaky_relu, "leaky_relu"},
    {Activation::elu, "elu"},
    {Activation::selu, "selu"},
    {Activation::gelu, "gelu"},
    {Activation::gelu_tanh, "gelu_tanh"},
    {Activation::silu, "silu"},
    {Activation::mish, "mish"},
    {Activation::sigmoid, "sigmoid"},
    {Activation::tanh, "tanh"},
    {Activation::hard_sigmoid, "hard_sigmoid"},
    {Activation::hard_swish, "hard_swish"},
}};

// Other spellings timm's activation table accepts for the same functions.
constexpr std::array<std::pair<std::string_view, Activation>, 4> kAliases = {{
    {"swish", Activation::silu},
    {"hardsigmoid", Activation::hard_sigmoid},
    {"hardswish", Activation::hard_swish},
    {"", Activation::identity},
}};

}  // namespace

std::string_view activation_name(Activation activation) noexcept {
  for (const auto& [value, name] : kNames) {
    if (value == activation) return name;
  }
  return "unknown";
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (const auto& entry : kNames) names.emplace_back(entry.second);
  return names;
}

Activation parse_activation(std::string_view name, std::string_view context) {
  for (const auto& [value, spelled] : kNames) {
    if (spelled == name) return value;
  }
  for (const auto& [spelled, value] : kAliases) {
    if (spelled == name) return value;
  }
  std::string message = std::string(context) + ": expected an activation (" + join_names(activation_names()) +
                        "), got '" + std::string(name) + "'";
  if (auto suggestion = did_you_mean(name, activation_names())) message += "; did you mean '" + *suggestion + "'?";
  throw ConfigError(message);
}

at::Tensor apply_activation(Activation activation, const at::Tensor& x) {
  switch (activation) {
    case Activation::identity: return x;
    case Activation::relu: return torch::relu(x);
    case Activation::relu6: return torch::hardtanh(x, 0.0, 6.0);
    case Activation::leaky_relu: return torch::leaky_relu(x, 0.01);
    case Activation::elu: return torch::elu(x);
    case Activation::selu: return torch::selu(x);
    case Activation::gelu: return torch::gelu(x);
    case Activation::gelu_tanh: return torch::gelu(x, "tanh");
    case Activation::silu: return torch::silu(x);
    case Activation::mish: return torch::mish(x);
    case Activation::sigmoid: return torch::sigmoid(x);
    case Activation::tanh: return torch::tanh(x);
    case Activation::hard_sigmoid: return torch::hardsigmoid(x);
    case Activation::hard_swish: return torch::hardswish(x);
  }
  return x;
}

at::Tensor apply_activation_(Activation activation, at::Tensor& x) {
  switch (activation) {
    case Activation::identity: return x;
    case Activation::relu: return torch::relu_(x);
    case Activation::relu6: return torch::hardtanh_(x, 0.0, 6.0);
    case Activation::leaky_relu: return torch::leaky_relu_(x, 0.01);
    case Activation::elu: return torch::elu_(x);
    case Activation::selu: return torch::selu_(x);
    case Activation::silu: return torch::silu_(x);
    case Activation::mish: return torch::mish_(x);
    case Activation::sigmoid: return torch::sigmoid_(x);
    case Activation::tanh: return torch::tanh_(x);
    case Activation::hard_sigmoid: return torch::hardsigmoid_(x);
    case Activation::hard_swish: return torch::hardswish_(x);
    case Activation::gelu:
    case Activation::gelu_tanh: return apply_activation(activation, x);  // no in-place kernel
  }
  return x;
}

ActivationLayerImpl::ActivationLayerImpl(ActivationLayerOptions options_) : options(options_) {}

ActivationLayerImpl::~ActivationLayerImpl() = default;

at::Tensor ActivationLayerImpl::forward(at::Tensor x) {
  return options.inplace ? apply_activation_(options.activation, x) : apply_activation(options.activation, x);
}

void ActivationLayerImpl::pretty_print(std::ostream& stream) const {
  stream << "autotimm::layers::ActivationLayer(" << activation_name(options.activation)
         << (options.inplace ? ", inplace" : "") << ")";
}

}  // namespace autotimm::layers
