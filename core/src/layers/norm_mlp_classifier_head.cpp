#include "autotimm/layers/norm_mlp_classifier_head.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"

namespace autotimm::layers {
namespace {

void validate(const NormMlpClassifierHeadOptions& o) {
  const std::string where = "NormMlpClassifierHead";
  if (o.in_features < 1) {
    throw ConfigError(where + ": 'in_features': expected at least 1, got " + std::to_string(o.in_features));
  }
  if (o.num_classes < 0) {
    throw ConfigError(where + ": 'num_classes': expected 0 (no classifier) or more, got " +
                      std::to_string(o.num_classes));
  }
  if (o.hidden_size && *o.hidden_size < 1) {
    throw ConfigError(where + ": 'hidden_size': expected at least 1 (or unset), got " + std::to_string(*o.hidden_size));
  }
  if (!(o.drop_rate >= 0.0 && o.drop_rate < 1.0)) {
    throw ConfigError(where + ": 'drop_rate': expected a probability in [0, 1), got " + std::to_string(o.drop_rate));
  }
  if (o.pool_type == PoolType::catavgmax) {
    throw ConfigError(where + ": 'global_pool' 'catavgmax' makes 2×" + std::to_string(o.in_features) +
                      " pooled channels, but the head's norm normalises " + std::to_string(o.in_features) +
                      "; use avg, max or avgmax");
  }
}

}  // namespace

NormMlpClassifierHeadImpl::NormMlpClassifierHeadImpl(NormMlpClassifierHeadOptions options_)
    : options(std::move(options_)) {
  validate(options);
  // Pooling keeps [N, C, 1, 1] so the 2-D norm applies; the flatten comes after it (timm's order).
  global_pool = register_module("global_pool", SelectAdaptivePool2d(SelectAdaptivePool2dOptions{
                                                   .pool_type = options.pool_type, .flatten = false}));
  norm = register_module("norm",
                         LayerNorm2d(LayerNorm2dOptions{.num_channels = options.in_features, .eps = options.norm_eps}));
  pre_logits = register_module("pre_logits", std::make_shared<torch::nn::Module>("Sequential"));
  if (options.hidden_size) {
    hidden_fc_ = pre_logits->register_module("fc", make_fc(options.in_features, *options.hidden_size));
  }
  drop = register_module("drop", torch::nn::Dropout(options.drop_rate));
  if (options.num_classes > 0) fc_ = register_module("fc", make_fc(num_pre_logits_features(), options.num_classes));
}

NormMlpClassifierHeadImpl::~NormMlpClassifierHeadImpl() = default;

std::int64_t NormMlpClassifierHeadImpl::num_pre_logits_features() const noexcept {
  return options.hidden_size.value_or(options.in_features);
}

std::shared_ptr<torch::nn::Module> NormMlpClassifierHeadImpl::make_fc(std::int64_t in, std::int64_t out) const {
  if (uses_conv()) return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)).ptr();
  return torch::nn::Linear(in, out).ptr();
}

at::Tensor NormMlpClassifierHeadImpl::apply_fc(const std::shared_ptr<torch::nn::Module>& layer,
                                               const at::Tensor& x) const {
  if (auto* linear = layer->as<torch::nn::LinearImpl>()) return linear->forward(x);
  return layer->as<torch::nn::Conv2dImpl>()->forward(x);
}

at::Tensor NormMlpClassifierHeadImpl::forward(const at::Tensor& x, bool pre_logits_only) {
  at::Tensor y = norm->forward(global_pool->forward(x));
  if (!uses_conv()) y = y.flatten(1);
  if (hidden_fc_) y = apply_activation(options.act_layer, apply_fc(hidden_fc_, y));
  y = drop->forward(y);
  if (pre_logits_only || !fc_) return y;
  return apply_fc(fc_, y);
}

void NormMlpClassifierHeadImpl::reset(std::int64_t num_classes, std::optional<PoolType> pool_type) {
  NormMlpClassifierHeadOptions next = options;
  next.num_classes = num_classes;
  if (pool_type) next.pool_type = *pool_type;
  validate(next);
  const bool was_conv = uses_conv();
  options = next;
  if (pool_type)
    global_pool =
        replace_module("global_pool", SelectAdaptivePool2d(SelectAdaptivePool2dOptions{.pool_type = *pool_type}));
  if (hidden_fc_ && was_conv != uses_conv()) {
    // Same weights, other layer type: [out, in] ↔ [out, in, 1, 1].
    auto converted = make_fc(options.in_features, *options.hidden_size);
    torch::NoGradGuard no_grad;
    const auto old_params = hidden_fc_->named_parameters();
    auto new_params = converted->named_parameters();
    new_params["weight"].copy_(old_params["weight"].reshape(new_params["weight"].sizes()));
    new_params["bias"].copy_(old_params["bias"]);
    converted->to(old_params["weight"].device(), old_params["weight"].scalar_type());
    hidden_fc_ = pre_logits->replace_module("fc", converted);
  }
  const auto reference = norm->weight;
  if (fc_) unregister_module("fc");
  fc_ = nullptr;
  if (num_classes > 0) {
    fc_ = make_fc(num_pre_logits_features(), num_classes);
    // The new layer joins the head where it lives.
    if (reference.defined()) fc_->to(reference.device(), reference.scalar_type());
    fc_ = register_module("fc", fc_);
  }
}

}  // namespace autotimm::layers
