#pragma once
// Pooling + classifier, as timm's classifier.py: create_classifier for families that keep `global_pool` and `fc` as
// their own attributes (ResNet), and ClassifierHead (global_pool → dropout → fc) for those with a `head` module.
//
//   auto [pool, fc, pooled] = autotimm::layers::create_classifier(2048, 10, autotimm::layers::PoolType::avg);
//   autotimm::layers::ClassifierHead head({.in_features = 768, .num_classes = 10, .drop_rate = 0.1});
//   torch::Tensor logits = head(features);                       // [N, 768, H, W] → [N, 10]
#include <cstdint>
#include <optional>
#include <string_view>

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "autotimm/export.hpp"
#include "autotimm/layers/adaptive_avgmax_pool.hpp"

namespace autotimm::layers {

struct Classifier {
  SelectAdaptivePool2d global_pool;     ///< flattens to [N, C'] unless the pool type is none
  torch::nn::Linear fc{nullptr};        ///< nullptr when num_classes is 0 (timm's nn.Identity)
  std::int64_t num_pooled_features = 0;  ///< num_features × the pool's feature multiplier (2 for catavgmax)
};

/// timm's create_classifier (use_conv=False). num_classes 0 gives no fc: pooled features pass through. A pool type of
/// none with num_classes > 0 is a ConfigError naming `context`: a Linear layer cannot take unpooled [N, C, H, W] maps.
AUTOTIMM_API Classifier create_classifier(std::int64_t num_features, std::int64_t num_classes, PoolType pool_type,
                                          std::string_view context = "classifier");

struct ClassifierHeadOptions {
  std::int64_t in_features = 0;
  std::int64_t num_classes = 1000;  ///< 0: no classifier, forward returns the pooled features
  PoolType pool_type = PoolType::avg;
  double drop_rate = 0.0;  ///< dropout before the classifier (training only)
};

/// Registers `global_pool`, `drop` and `fc` (when num_classes > 0): state dict keys `fc.weight`, `fc.bias` under
/// whatever name the owner gives the head ("head.fc.weight").
class AUTOTIMM_API ClassifierHeadImpl : public torch::nn::Module {
 public:
  explicit ClassifierHeadImpl(ClassifierHeadOptions options);
  ~ClassifierHeadImpl() override;

  /// Pool → dropout → fc; `pre_logits` stops before fc.
  at::Tensor forward(const at::Tensor& x, bool pre_logits = false);
  /// A fresh classifier for `num_classes` (0 removes it); the pool type changes only when given.
  void reset(std::int64_t num_classes, std::optional<PoolType> pool_type = std::nullopt);
  std::int64_t num_pooled_features() const noexcept;

  ClassifierHeadOptions options;
  SelectAdaptivePool2d global_pool{nullptr};
  torch::nn::Dropout drop{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(ClassifierHead);

}  // namespace autotimm::layers
