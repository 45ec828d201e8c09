#pragma once
// ConvNeXt and ConvNeXt-V2, as timm's ConvNeXt class (timm/models/convnext.py): same submodule names in the same
// order, so a timm state dict loads as it is, and the same numerics.
//
//   auto net = std::make_shared<autotimm::convnext::ConvNeXtImpl>(autotimm::convnext::ConvNeXtOptions{
//       .num_classes = 10, .depths = {2, 2, 6, 2}, .dims = {40, 80, 160, 320}, .conv_mlp = true});   // convnext_atto
//   torch::Tensor logits = net->forward(torch::randn({2, 3, 224, 224}));          // [2, 10]
//   auto maps = net->forward_intermediates(images, {0, 1, 2, 3});                 // strides 4, 8, 16, 32
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/backbone.hpp"
#include "autotimm/config.hpp"
#include "autotimm/layers/activations.hpp"
#include "autotimm/layers/adaptive_avgmax_pool.hpp"
#include "autotimm/layers/classifier.hpp"
#include "autotimm/layers/layer_norm2d.hpp"
#include "autotimm/layers/norm_mlp_classifier_head.hpp"
#include "blocks.hpp"

namespace autotimm::convnext {

/// timm's stem_type: a 4×4/4 patchify conv, or two 3×3/2 convs ("overlap"; "_tiered": the first is half as wide;
/// "_act": an activation between them).
enum class StemType { patch, overlap, overlap_tiered, overlap_act };
std::string_view to_string(StemType type) noexcept;

/// timm's norm_layer choices for ConvNeXt. Only LayerNorm is built here (see README.md for rmsnorm/simplenorm).
enum class NormLayer { layernorm };

/// timm's ConvNeXt constructor arguments; field names are timm's keywords. Exactly four stages.
struct ConvNeXtOptions {
  std::int64_t in_chans = 3;
  std::int64_t num_classes = 1000;  ///< 0 = headless: forward returns the pre-logits
  layers::PoolType global_pool = layers::PoolType::avg;
  std::int64_t output_stride = 32;  ///< 32, 16 or 8: later stages dilate instead of striding
  std::vector<std::int64_t> depths = {3, 3, 9, 3};
  std::vector<std::int64_t> dims = {96, 192, 384, 768};
  std::vector<std::int64_t> kernel_sizes = {7};  ///< depthwise kernel: one for every stage, or one per stage (odd)
  std::optional<double> ls_init_value = 1e-6;    ///< layer scale `gamma` initial value; unset: no layer scale (V2)
  StemType stem_type = StemType::patch;
  std::int64_t patch_size = 4;   ///< kernel and stride of the patch stem
  double head_init_scale = 1.0;  ///< scales the head's Linear weights and biases at init
  bool head_norm_first = false;  ///< norm_pre (LayerNorm2d) → pool → fc instead of pool → head.norm → fc ("_hnf")
  std::optional<std::int64_t> head_hidden_size = {};  ///< a head.pre_logits fc + GELU of this width
  bool conv_mlp = false;  ///< NCHW blocks (LayerNorm2d, 1×1 convs) instead of NHWC (LayerNorm, Linear)
  bool conv_bias = true;  ///< bias on every conv (stem, downsample, depthwise)
  bool use_grn = false;   ///< Global Response Norm in the block MLPs (ConvNeXt-V2)
  layers::Activation act_layer = layers::Activation::gelu;  ///< blocks and the "overlap_act" stem; the head's is GELU
  NormLayer norm_layer = NormLayer::layernorm;
  std::optional<double> norm_eps = {};  ///< unset: 1e-6 (timm's LayerNorm default)
  double drop_rate = 0.0;               ///< dropout before the classifier
  double drop_path_rate = 0.0;          ///< stochastic depth, rising linearly from 0 over all blocks
};

/// Reads timm's ConvNeXt keywords from `model_args` over `defaults` (the variant's), so the user's keys win. Unknown
/// keys are left to the caller's expect_all_used(); a wrong type or an unknown choice is a ConfigError naming the key.
ConvNeXtOptions convnext_options_from(const Config& model_args, ConvNeXtOptions defaults);

class ConvNeXtImpl : public Backbone {
 public:
  /// Validates `options` (a ConfigError names the field) and builds the network with timm's initialisation.
  /// `pretrained_cfg.architecture` names the model in messages.
  explicit ConvNeXtImpl(ConvNeXtOptions options, PretrainedCfg pretrained_cfg = {});

  /// stem → stages → norm_pre (head_norm_first only).
  torch::Tensor forward_features(const torch::Tensor& x) override;
  /// Pool → head.norm → [head.pre_logits] → dropout → head.fc (or, head_norm_first: pool → dropout → fc).
  torch::Tensor forward_head(const torch::Tensor& features, bool pre_logits = false) override;
  /// The outputs of stages 0…3 (strides 4, 8, 16, 32 at output_stride 32) named by `indices`, NCHW, one per index in
  /// the order given (negative values count from the end); stages after the last one asked for are skipped. As timm
  /// with norm=False: norm_pre is not applied.
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& x,
                                                   const std::vector<std::int64_t>& indices) override;

  const std::vector<FeatureInfo>& feature_info() const override { return feature_info_; }
  /// Channels of forward_features' output: dims[3] (timm's num_features). The pre-logits are head_hidden_size wide
  /// when that is set (timm's head_hidden_size).
  std::int64_t num_features() const override { return options_.dims.back(); }
  std::int64_t head_hidden_size() const override;
  std::int64_t num_classes() const override { return options_.num_classes; }
  /// A fresh classifier for `num_classes` (0: none) on the model's device and dtype; the pool type and the hidden
  /// layer are kept.
  void reset_classifier(std::int64_t num_classes) override;

  const ConvNeXtOptions& options() const noexcept { return options_; }

 private:
  void validate() const;
  void init_weights();
  double norm_eps() const { return options_.norm_eps.value_or(1e-6); }

  ConvNeXtOptions options_;
  std::string name_;  // the architecture, for messages
  torch::nn::Sequential stem_{nullptr};
  std::vector<ConvNeXtStage> stages_;
  layers::LayerNorm2d norm_pre_{nullptr};                 // head_norm_first
  layers::ClassifierHead classifier_head_{nullptr};       // head_norm_first: registered as "head"
  layers::NormMlpClassifierHead norm_mlp_head_{nullptr};  // otherwise: registered as "head"
  std::vector<FeatureInfo> feature_info_;
};
TORCH_MODULE(ConvNeXt);

}  // namespace autotimm::convnext
