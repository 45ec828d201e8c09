#include "autotimm/layers/classifier.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"

namespace autotimm::layers {

Classifier create_classifier(std::int64_t num_features, std::int64_t num_classes, PoolType pool_type,
                             std::string_view context) {
  if (num_features < 1) {
    throw ConfigError(std::string(context) + ": expected num_features of at least 1, got " +
                      std::to_string(num_features));
  }
  if (num_classes < 0) {
    throw ConfigError(std::string(context) + ": 'num_classes': expected 0 (no classifier) or more, got " +
                      std::to_string(num_classes));
  }
  if (pool_type == PoolType::none && num_classes > 0) {
    throw ConfigError(std::string(context) + ": 'global_pool' '' (no pooling) leaves [N, C, H, W] maps, which a " +
                      "linear classifier cannot take; got num_classes=" + std::to_string(num_classes) +
                      "; set num_classes=0, or choose a pool type (avg, max, avgmax, catavgmax)");
  }
  Classifier classifier;
  // timm flattens inside the pool whenever there is pooling and the classifier is linear.
  classifier.global_pool =
      SelectAdaptivePool2d(SelectAdaptivePool2dOptions{.pool_type = pool_type, .flatten = pool_type != PoolType::none});
  classifier.num_pooled_features = num_features * pool_feature_multiplier(pool_type);
  if (num_classes > 0) classifier.fc = torch::nn::Linear(classifier.num_pooled_features, num_classes);
  return classifier;
}

ClassifierHeadImpl::ClassifierHeadImpl(ClassifierHeadOptions options_) : options(std::move(options_)) {
  if (options.drop_rate < 0.0 || options.drop_rate >= 1.0) {
    throw ConfigError("ClassifierHead: 'drop_rate': expected a probability in [0, 1), got " +
                      std::to_string(options.drop_rate));
  }
  auto parts = create_classifier(options.in_features, options.num_classes, options.pool_type, "ClassifierHead");
  global_pool = register_module("global_pool", parts.global_pool);
  drop = register_module("drop", torch::nn::Dropout(options.drop_rate));
  if (parts.fc) fc = register_module("fc", parts.fc);
}

ClassifierHeadImpl::~ClassifierHeadImpl() = default;

at::Tensor ClassifierHeadImpl::forward(const at::Tensor& x, bool pre_logits) {
  at::Tensor y = drop->forward(global_pool->forward(x));
  if (pre_logits || !fc) return y;
  return fc->forward(y);
}

void ClassifierHeadImpl::reset(std::int64_t num_classes, std::optional<PoolType> pool_type) {
  const PoolType chosen = pool_type.value_or(options.pool_type);
  auto parts = create_classifier(options.in_features, num_classes, chosen, "ClassifierHead");
  options.num_classes = num_classes;
  options.pool_type = chosen;
  global_pool = replace_module("global_pool", parts.global_pool);
  if (fc) unregister_module("fc");
  fc = nullptr;
  if (parts.fc) fc = register_module("fc", parts.fc);
}

std::int64_t ClassifierHeadImpl::num_pooled_features() const noexcept {
  return options.in_features * pool_feature_multiplier(options.pool_type);
}

}  // namespace autotimm::layers
