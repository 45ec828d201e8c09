#pragma once
// EfficientNet, EfficientNet-V2, MixNet, MobileNet-V2 and MobileNet-V3, as timm's EfficientNet and MobileNetV3 classes
// (timm/models/efficientnet.py, mobilenetv3.py) built by its block-string builder: same submodule names in the same
// order, so a timm state dict loads as it is, and the same numerics. The two timm classes share stem and blocks and
// differ only in the head, chosen by `head_type`.
//
//   auto net = std::make_shared<autotimm::efficientnet::EfficientNetImpl>(
//       autotimm::efficientnet::efficientnet_variant_options("efficientnet_b0"));
//   torch::Tensor logits = net->forward(torch::randn({2, 3, 224, 224}));   // [2, 1000]
//   auto maps = net->forward_intermediates(images, {1, 2, 3, 4});         // strides 4, 8, 16, 32
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/modules/linear.h>

#include "arch_def.hpp"
#include "autotimm/backbone.hpp"
#include "autotimm/config.hpp"
#include "autotimm/layers/activations.hpp"
#include "autotimm/layers/adaptive_avgmax_pool.hpp"
#include "blocks.hpp"

namespace autotimm::efficientnet {

/// timm's EfficientNet head (conv_head + bn2 before pooling; pool → dropout → classifier) or MobileNetV3's (pool →
/// conv_head with bias → act2 → flatten → dropout → classifier, on the pooled vector).
enum class HeadType { efficientnet, mobilenetv3 };

/// The architecture (what timm's _gen_* functions pass) and timm's EfficientNet / MobileNetV3 keywords. Field names
/// are timm's where timm has them.
struct EfficientNetOptions {
  // The block definitions and how they scale (timm's decode_arch_def and round_chs_fn).
  std::vector<std::vector<std::string>> arch_def = {};
  std::vector<double> depth_multiplier = {1.0};  ///< one value, or one per stage
  DepthTrunc depth_trunc = DepthTrunc::ceil;
  bool fix_first_last = false;  ///< first and last stages keep their depth
  std::optional<std::int64_t> group_size = {};
  double channel_multiplier = 1.0;
  std::int64_t channel_divisor = 8;
  double round_limit = 0.9;

  HeadType head_type = HeadType::efficientnet;
  std::int64_t in_chans = 3;
  std::int64_t num_classes = 1000;  ///< 0 = headless: forward returns the pre-logits
  layers::PoolType global_pool = layers::PoolType::avg;
  std::int64_t stem_size = 32;
  std::int64_t stem_kernel_size = 3;
  bool fix_stem = false;  ///< stem width not scaled by channel_multiplier
  /// EfficientNet: conv_head's width (0: no conv_head / bn2). MobileNetV3: the pre-logits width (head_hidden_size).
  std::int64_t num_features = 1280;
  bool head_bias = true;  ///< MobileNetV3's conv_head bias
  std::int64_t output_stride = 32;  ///< 32, 16 or 8: later stages dilate instead of striding
  PadType pad_type = PadType::symmetric;
  layers::Activation act_layer = layers::Activation::relu;
  bool se_from_exp = false;  ///< SE width from the expanded channels (MobileNetV3) instead of the block input
  SqueezeExciteSpec se_layer = {};
  double bn_eps = 1e-5;
  std::optional<double> bn_momentum = 0.1;
  double drop_rate = 0.0;       ///< dropout before the classifier
  double drop_path_rate = 0.0;  ///< stochastic depth, rising linearly over all blocks
};

/// Reads timm's EfficientNet / MobileNetV3 keywords from `model_args` over `defaults` (the variant's), so the user's
/// keys win. Unknown keys are left to the caller's expect_all_used(); a wrong type or choice is a ConfigError.
EfficientNetOptions efficientnet_options_from(const Config& model_args, EfficientNetOptions defaults);

class EfficientNetImpl : public Backbone {
 public:
  /// Validates `options` (a ConfigError names the field), builds the network with timm's initialisation.
  /// `pretrained_cfg.architecture` names the model in messages.
  explicit EfficientNetImpl(EfficientNetOptions options, PretrainedCfg pretrained_cfg = {});

  /// conv_stem → bn1 → blocks [→ conv_head → bn2 for the EfficientNet head].
  torch::Tensor forward_features(const torch::Tensor& x) override;
  /// EfficientNet: pool → dropout → classifier. MobileNetV3: pool → conv_head → act2 → flatten → dropout →
  /// classifier. `pre_logits` stops before the classifier.
  torch::Tensor forward_head(const torch::Tensor& features, bool pre_logits = false) override;
  /// timm's feature maps: the stem's (when the first stage strides) and the end of every stage after which the
  /// resolution halves, plus the last; NCHW, one per index in the order given.
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& x,
                                                   const std::vector<std::int64_t>& indices) override;

  const std::vector<FeatureInfo>& feature_info() const override { return feature_info_; }
  /// Channels of forward_features' output (timm's num_features).
  std::int64_t num_features() const override { return num_features_; }
  /// The pre-logits width (timm's head_hidden_size): num_features, or MobileNetV3's conv_head width.
  std::int64_t head_hidden_size() const override { return head_hidden_size_; }
  std::int64_t num_classes() const override { return options_.num_classes; }
  void reset_classifier(std::int64_t num_classes) override;

  const EfficientNetOptions& options() const noexcept { return options_; }
  /// The blocks per stage, as built (for tests and tools).
  std::vector<std::vector<std::shared_ptr<EfficientBlockImpl>>> blocks() const { return blocks_; }

 private:
  void validate() const;
  void build_blocks(std::int64_t stem_chs);
  void init_weights();
  std::int64_t round_chs(double channels) const;
  /// Hands `y` to stage_output for each feature_info entry taken once `stages_run` stages have run.
  torch::Tensor report_stages_after(std::int64_t stages_run, const torch::Tensor& y) const;

  EfficientNetOptions options_;
  std::string name_;
  AnyConv2d conv_stem_;
  BatchNormAct2d bn1_{nullptr};
  std::vector<std::vector<std::shared_ptr<EfficientBlockImpl>>> blocks_;
  std::vector<std::int64_t> stage_ends_;  // per feature: how many stages run before it (0: the stem)
  torch::nn::Conv2d conv_head_{nullptr};
  BatchNormAct2d bn2_{nullptr};  // EfficientNet head with num_features > 0
  layers::SelectAdaptivePool2d global_pool_{nullptr};
  torch::nn::Linear classifier_{nullptr};
  std::int64_t num_features_ = 0;
  std::int64_t head_hidden_size_ = 0;
  std::vector<FeatureInfo> feature_info_;
};
TORCH_MODULE(EfficientNet);

}  // namespace autotimm::efficientnet
