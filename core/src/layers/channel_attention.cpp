// Channel attention layers: SEModule and EcaModule.
#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/layers/eca.hpp"
#include "autotimm/layers/helpers.hpp"
#include "autotimm/layers/squeeze_excite.hpp"

namespace autotimm::layers {

// ---- SEModule ------------------------------------------------------------------------------------------------------

std::int64_t se_reduction_channels(const SEModuleOptions& options) {
  if (options.rd_channels && *options.rd_channels > 0) return *options.rd_channels;
  return make_divisible(static_cast<double>(options.channels) * options.rd_ratio, options.rd_divisor, std::nullopt,
                        0.0);
}

SEModuleImpl::SEModuleImpl(SEModuleOptions options_) : options(std::move(options_)) {
  if (options.channels < 1) {
    throw ConfigError("SEModule: 'channels': expected at least 1, got " + std::to_string(options.channels));
  }
  if (!options.rd_channels && !(options.rd_ratio > 0.0)) {
    throw ConfigError("SEModule: 'rd_ratio': expected a ratio > 0, got " + std::to_string(options.rd_ratio));
  }
  if (options.rd_divisor < 1) {
    throw ConfigError("SEModule: 'rd_divisor': expected at least 1, got " + std::to_string(options.rd_divisor));
  }
  const std::int64_t reduced = se_reduction_channels(options);
  fc1 = register_module(
      "fc1", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.channels, reduced, 1).bias(options.bias)));
  fc2 = register_module(
      "fc2", torch::nn::Conv2d(torch::nn::Conv2dOptions(reduced, options.channels, 1).bias(options.bias)));
}

SEModuleImpl::~SEModuleImpl() = default;

at::Tensor SEModuleImpl::forward(const at::Tensor& x) {
  at::Tensor squeezed = x.mean({2, 3}, /*keepdim=*/true);
  if (options.add_maxpool) squeezed = 0.5 * squeezed + 0.5 * x.amax({2, 3}, /*keepdim=*/true);
  at::Tensor excited = fc1->forward(squeezed);
  excited = apply_activation_(options.act_layer, excited);
  excited = fc2->forward(excited);
  return x * apply_activation(options.gate_layer, excited);
}

// ---- EcaModule -----------------------------------------------------------------------------------------------------

std::int64_t eca_kernel_size(const EcaModuleOptions& options) {
  if (!options.channels) return options.kernel_size;
  // log(c) / log(2), as Python's math.log(c, 2) computes it, so the truncation below lands where timm's does.
  const double log2_channels = std::log(static_cast<double>(*options.channels)) / std::log(2.0);
  const auto t = static_cast<std::int64_t>(std::fabs(log2_channels + options.beta) / options.gamma);
  return std::max<std::int64_t>(t % 2 ? t : t + 1, 3);
}

EcaModuleImpl::EcaModuleImpl(EcaModuleOptions options_) : options(std::move(options_)) {
  if (options.channels && *options.channels < 1) {
    throw ConfigError("EcaModule: 'channels': expected at least 1, got " + std::to_string(*options.channels));
  }
  const std::int64_t kernel = eca_kernel_size(options);
  if (kernel < 1 || kernel % 2 == 0) {
    throw ConfigError("EcaModule: 'kernel_size': expected an odd size, got " + std::to_string(kernel));
  }
  conv = register_module(
      "conv", torch::nn::Conv1d(torch::nn::Conv1dOptions(1, 1, kernel).padding((kernel - 1) / 2).bias(false)));
}

EcaModuleImpl::~EcaModuleImpl() = default;

at::Tensor EcaModuleImpl::forward(const at::Tensor& x) {
  const std::int64_t batch = x.size(0);
  at::Tensor y = x.mean({2, 3}).view({batch, 1, -1});
  y = conv->forward(y);
  y = apply_activation(options.gate_layer, y).view({batch, -1, 1, 1});
  return x * y.expand_as(x);
}

}  // namespace autotimm::layers
