#pragma once
// Activations chosen by name, as timm's get_act_layer: one enum, one string table shared by JSON and messages.
//
//   auto act = autotimm::layers::parse_activation("silu", "option 'act_layer' of resnet50");
//   torch::Tensor y = autotimm::layers::apply_activation(act, x);
//   autotimm::layers::ActivationLayer act1({.activation = act, .inplace = true});   // a module, for containers
#include <string>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "autotimm/export.hpp"

namespace autotimm::layers {

enum class Activation {
  identity,
  relu,
  relu6,
  leaky_relu,  ///< negative slope 0.01, as nn.LeakyReLU's default
  elu,
  selu,
  gelu,       ///< exact (erf) GELU
  gelu_tanh,  ///< tanh approximation
  silu,       ///< also spelled "swish"
  mish,
  sigmoid,
  tanh,
  hard_sigmoid,  ///< relu6(x + 3) / 6
  hard_swish,    ///< x * relu6(x + 3) / 6
};

/// timm's spelling of `activation` ("relu", "hard_sigmoid", ...).
AUTOTIMM_API std::string_view activation_name(Activation activation) noexcept;

/// Every accepted spelling, in the enum's order, for messages.
AUTOTIMM_API std::vector<std::string> activation_names();

/// The activation called `name` ("swish" is silu, "hardsigmoid"/"hardswish" are accepted as timm accepts them).
/// ConfigError otherwise, naming `context` (e.g. "option 'act_layer' of resnet50") and listing the valid names.
AUTOTIMM_API Activation parse_activation(std::string_view name, std::string_view context);

/// `activation` applied to `x`, out of place.
AUTOTIMM_API at::Tensor apply_activation(Activation activation, const at::Tensor& x);

/// `activation` applied to `x` in place where torch has an in-place kernel (as timm's inplace=True layers), else
/// out of place; returns the result either way.
AUTOTIMM_API at::Tensor apply_activation_(Activation activation, at::Tensor& x);

struct ActivationLayerOptions {
  Activation activation = Activation::relu;
  bool inplace = false;  ///< modify the input where torch can (timm's act_layer(inplace=True))
};

/// A parameter-free module applying one activation, for containers (timm's create_act_layer).
class AUTOTIMM_API ActivationLayerImpl : public torch::nn::Module {
 public:
  explicit ActivationLayerImpl(ActivationLayerOptions options = {});
  ~ActivationLayerImpl() override;

  at::Tensor forward(at::Tensor x);
  void pretty_print(std::ostream& stream) const override;

  ActivationLayerOptions options;
};
TORCH_MODULE(ActivationLayer);

}  // namespace autotimm::layers
