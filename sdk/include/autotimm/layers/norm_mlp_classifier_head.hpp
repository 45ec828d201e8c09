#pragma once
// Pool → norm → (hidden fc → act) → dropout → fc, as timm's NormMlpClassifierHead (timm/layers/classifier.py): the
// head of ConvNeXt (and of other families whose checkpoints keep the final norm after pooling). The norm is a
// LayerNorm2d over the pooled [N, C, 1, 1] map.
// State dict keys under the owner's name for it ("head."): norm.weight, norm.bias, pre_logits.fc.weight/bias (with a
// hidden size), fc.weight, fc.bias. With no pooling (PoolType::none) timm's head works on maps: norm and both fc
// layers are applied per position and the fc layers are 1×1 convolutions ([out, in, 1, 1] weights).
//
//   autotimm::layers::NormMlpClassifierHead head({.in_features = 768, .num_classes = 10});
//   torch::Tensor logits = head(features);            // [N, 768, H, W] → [N, 10]
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>

#include "autotimm/export.hpp"
#include "autotimm/layers/activations.hpp"
#include "autotimm/layers/adaptive_avgmax_pool.hpp"
#include "autotimm/layers/layer_norm2d.hpp"

namespace autotimm::layers {

struct NormMlpClassifierHeadOptions {
  std::int64_t in_features = 0;
  std::int64_t num_classes = 1000;               ///< 0: no classifier, forward returns the pre-logits
  std::optional<std::int64_t> hidden_size = {};  ///< set: a pre_logits fc + act of this width before the classifier
  PoolType pool_type = PoolType::avg;            ///< catavgmax is refused: the norm is C wide, the pooled map 2C
  double drop_rate = 0.0;                        ///< dropout before fc (training only)
  double norm_eps = 1e-6;
  Activation act_layer = Activation::gelu;  ///< after the hidden fc
};

class AUTOTIMM_API NormMlpClassifierHeadImpl : public torch::nn::Module {
 public:
  /// ConfigError for an unusable combination (catavgmax pooling, no in_features, a negative class count), naming it.
  explicit NormMlpClassifierHeadImpl(NormMlpClassifierHeadOptions options);
  ~NormMlpClassifierHeadImpl() override;

  /// [N, C, H, W] → [N, num_classes] (pooled) or [N, num_classes, H, W] (no pooling); `pre_logits` stops before fc.
  at::Tensor forward(const at::Tensor& x, bool pre_logits = false);
  /// A fresh fc for `num_classes` (0 removes it); the pool type changes only when given, and the hidden fc keeps its
  /// weights (converted between linear and 1×1 conv when the pooling switches between on and off, as timm).
  void reset(std::int64_t num_classes, std::optional<PoolType> pool_type = std::nullopt);
  /// Width of the pre-logits: hidden_size when set, else in_features (timm's `num_features` of the head).
  std::int64_t num_pre_logits_features() const noexcept;
  bool uses_conv() const noexcept { return options.pool_type == PoolType::none; }

  NormMlpClassifierHeadOptions options;
  SelectAdaptivePool2d global_pool{nullptr};
  LayerNorm2d norm{nullptr};
  std::shared_ptr<torch::nn::Module> pre_logits;  ///< holds `fc` (hidden layer) when hidden_size is set
  torch::nn::Dropout drop{nullptr};

 private:
  at::Tensor apply_fc(const std::shared_ptr<torch::nn::Module>& layer, const at::Tensor& x) const;
  std::shared_ptr<torch::nn::Module> make_fc(std::int64_t in, std::int64_t out) const;

  std::shared_ptr<torch::nn::Module> hidden_fc_;  // Linear or 1×1 Conv2d, registered as pre_logits.fc
  std::shared_ptr<torch::nn::Module> fc_;         // Linear or 1×1 Conv2d, registered as fc; null without classes
};
TORCH_MODULE(NormMlpClassifierHead);

}  // namespace autotimm::layers
