// Pooling layers: selectable global pooling, blur pooling / anti-aliasing, SAME-padded average pooling.
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <utility>

#include "autotimm/error.hpp"
#include "autotimm/layers/adaptive_avgmax_pool.hpp"
#include "autotimm/layers/blur_pool.hpp"
#include "autotimm/layers/helpers.hpp"
#include "autotimm/layers/pool2d_same.hpp"
#include "autotimm/names.hpp"

namespace autotimm::layers {
namespace {

constexpr std::array<std::pair<PoolType, std::string_view>, 5> kPoolNames = {{
    {PoolType::none, ""},
    {PoolType::avg, "avg"},
    {PoolType::max, "max"},
    {PoolType::avgmax, "avgmax"},
    {PoolType::catavgmax, "catavgmax"},
}};

std::string quoted_list(const std::vector<std::string>& names) {
  std::vector<std::string> quoted;
  for (const auto& name : names) quoted.push_back("'" + name + "'");
  return join_names(quoted);
}

}  // namespace

// ---- SelectAdaptivePool2d ------------------------------------------------------------------------------------------

std::string_view pool_type_name(PoolType type) noexcept {
  for (const auto& [value, name] : kPoolNames) {
    if (value == type) return name;
  }
  return "unknown";
}

PoolType parse_pool_type(std::string_view name, std::string_view context) {
  std::vector<std::string> valid;
  for (const auto& [value, spelled] : kPoolNames) {
    if (spelled == name) return value;
    if (value != PoolType::none) valid.emplace_back(spelled);
  }
  std::string message = std::string(context) + ": expected a pool type (" + quoted_list(valid) +
                        ", or '' for no pooling), got '" + std::string(name) + "'";
  if (auto suggestion = did_you_mean(name, valid)) message += "; did you mean '" + *suggestion + "'?";
  throw ConfigError(message);
}

std::int64_t pool_feature_multiplier(PoolType type) noexcept { return type == PoolType::catavgmax ? 2 : 1; }

at::Tensor select_adaptive_pool2d(const at::Tensor& x, PoolType type, bool flatten) {
  at::Tensor pooled;
  switch (type) {
    case PoolType::none: return x;
    case PoolType::avg: pooled = torch::adaptive_avg_pool2d(x, {1, 1}); break;
    case PoolType::max: pooled = std::get<0>(torch::adaptive_max_pool2d(x, {1, 1})); break;
    case PoolType::avgmax:
      pooled = 0.5 * (torch::adaptive_avg_pool2d(x, {1, 1}) + std::get<0>(torch::adaptive_max_pool2d(x, {1, 1})));
      break;
    case PoolType::catavgmax:
      pooled = torch::cat({torch::adaptive_avg_pool2d(x, {1, 1}), std::get<0>(torch::adaptive_max_pool2d(x, {1, 1}))},
                          1);
      break;
  }
  return flatten ? pooled.flatten(1) : pooled;
}

SelectAdaptivePool2dImpl::SelectAdaptivePool2dImpl(SelectAdaptivePool2dOptions options_)
    : options(std::move(options_)) {}

SelectAdaptivePool2dImpl::~SelectAdaptivePool2dImpl() = default;

at::Tensor SelectAdaptivePool2dImpl::forward(const at::Tensor& x) {
  return select_adaptive_pool2d(x, options.pool_type, options.flatten);
}

void SelectAdaptivePool2dImpl::pretty_print(std::ostream& stream) const {
  stream << "autotimm::layers::SelectAdaptivePool2d(pool_type='" << pool_type_name(options.pool_type)
         << "', flatten=" << (options.flatten ? "true" : "false") << ")";
}

// ---- BlurPool2d and create_aa --------------------------------------------------------------------------------------

std::string_view anti_alias_name(AntiAliasType type) noexcept {
  switch (type) {
    case AntiAliasType::none: return "";
    case AntiAliasType::avgpool: return "avgpool";
    case AntiAliasType::blurpool: return "blurpool";
    case AntiAliasType::blurpc: return "blurpc";
  }
  return "unknown";
}

AntiAliasType parse_anti_alias(std::string_view name, std::string_view context) {
  // timm lower-cases the name and drops '_' and '-' before matching.
  std::string key;
  for (const char c : name) {
    if (c != '_' && c != '-') key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (key.empty()) return AntiAliasType::none;
  if (key == "avg" || key == "avgpool") return AntiAliasType::avgpool;
  if (key == "blur" || key == "blurpool") return AntiAliasType::blurpool;
  if (key == "blurpc") return AntiAliasType::blurpc;
  throw ConfigError(std::string(context) + ": expected an anti-aliasing layer ('avgpool', 'blurpool', 'blurpc' or " +
                    "'' for none), got '" + std::string(name) + "'");
}

BlurPool2dImpl::BlurPool2dImpl(BlurPool2dOptions options_) : options(std::move(options_)) {
  if (options.filt_size < 2) {
    throw ConfigError("BlurPool2d: 'filt_size': expected at least 2, got " + std::to_string(options.filt_size));
  }
  if (options.stride < 1) {
    throw ConfigError("BlurPool2d: 'stride': expected at least 1, got " + std::to_string(options.stride));
  }
  if (options.channels && *options.channels < 1) {
    throw ConfigError("BlurPool2d: 'channels': expected at least 1, got " + std::to_string(*options.channels));
  }
  // Binomial coefficients C(n, k) / 2^n, n = filt_size - 1: the taps of (0.5 + 0.5 x)^n, summing to 1.
  const std::int64_t n = options.filt_size - 1;
  std::vector<double> taps(static_cast<std::size_t>(options.filt_size));
  double binomial = 1.0;
  for (std::int64_t k = 0; k <= n; ++k) {
    taps[static_cast<std::size_t>(k)] = binomial;
    binomial = binomial * static_cast<double>(n - k) / static_cast<double>(k + 1);
  }
  const auto coeffs =
      torch::tensor(taps, torch::TensorOptions().dtype(torch::kFloat32)) / std::pow(2.0, static_cast<double>(n));
  filter_ = (coeffs.unsqueeze(1) * coeffs.unsqueeze(0)).view({1, 1, options.filt_size, options.filt_size});
}

BlurPool2dImpl::~BlurPool2dImpl() = default;

at::Tensor BlurPool2dImpl::forward(const at::Tensor& x) {
  const std::int64_t pad = get_padding(options.filt_size, options.stride);
  namespace F = torch::nn::functional;
  auto pad_options = F::PadFuncOptions({pad, pad, pad, pad});
  if (options.reflect_padding) pad_options.mode(torch::kReflect);
  const at::Tensor padded = F::pad(x, pad_options);
  const std::int64_t channels = options.channels.value_or(x.size(1));
  const at::Tensor weight =
      filter_.to(x.device(), x.scalar_type()).expand({channels, 1, options.filt_size, options.filt_size});
  const std::vector<std::int64_t> stride = {options.stride, options.stride}, no_padding = {0, 0}, dilation = {1, 1};
  return torch::conv2d(padded, weight, c10::nullopt, stride, no_padding, dilation, channels);
}

void BlurPool2dImpl::pretty_print(std::ostream& stream) const {
  stream << "autotimm::layers::BlurPool2d(filt_size=" << options.filt_size << ", stride=" << options.stride
         << ", pad_mode=" << (options.reflect_padding ? "reflect" : "constant") << ")";
}

torch::nn::AnyModule create_aa(AntiAliasType type, std::int64_t channels, std::int64_t stride) {
  switch (type) {
    case AntiAliasType::none: return torch::nn::AnyModule(torch::nn::Identity());
    case AntiAliasType::avgpool:
      // timm calls nn.AvgPool2d(stride): kernel = stride = the given stride, no padding.
      return torch::nn::AnyModule(torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(stride)));
    case AntiAliasType::blurpool:
    case AntiAliasType::blurpc:
      return torch::nn::AnyModule(BlurPool2d(BlurPool2dOptions{
          .channels = channels, .stride = stride, .reflect_padding = type == AntiAliasType::blurpool}));
  }
  return torch::nn::AnyModule(torch::nn::Identity());
}

// ---- AvgPool2dSame -------------------------------------------------------------------------------------------------

AvgPool2dSameImpl::AvgPool2dSameImpl(AvgPool2dSameOptions options_) : options(std::move(options_)) {
  if (options.kernel_size < 1 || options.stride < 1) {
    throw ConfigError("AvgPool2dSame: expected kernel_size and stride of at least 1, got kernel_size " +
                      std::to_string(options.kernel_size) + ", stride " + std::to_string(options.stride));
  }
}

AvgPool2dSameImpl::~AvgPool2dSameImpl() = default;

at::Tensor AvgPool2dSameImpl::forward(const at::Tensor& x) {
  const std::int64_t pad_h = get_same_padding(x.size(-2), options.kernel_size, options.stride);
  const std::int64_t pad_w = get_same_padding(x.size(-1), options.kernel_size, options.stride);
  const at::Tensor padded = torch::constant_pad_nd(x, {pad_w / 2, pad_w - pad_w / 2, pad_h / 2, pad_h - pad_h / 2}, 0);
  return torch::avg_pool2d(padded, {options.kernel_size, options.kernel_size}, {options.stride, options.stride},
                           {0, 0}, options.ceil_mode, options.count_include_pad);
}

void AvgPool2dSameImpl::pretty_print(std::ostream& stream) const {
  stream << "autotimm::layers::AvgPool2dSame(kernel_size=" << options.kernel_size << ", stride=" << options.stride
         << ", ceil_mode=" << (options.ceil_mode ? "true" : "false") << ")";
}

}  // namespace autotimm::layers
