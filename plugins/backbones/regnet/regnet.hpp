#pragma once
// RegNet X / Y / V / Z, as timm's RegNet class (timm/models/regnet.py): the same width/depth/group generator, the
// same submodule names in the same order (stem, s1…s4 with blocks b1, b2, …, final_conv, head.fc), so a timm state
// dict loads as it is, and the same numerics.
//
//   auto net = std::make_shared<autotimm::regnet::RegNetImpl>(autotimm::regnet::RegNetOptions{
//       .depth = 13, .w0 = 24, .wa = 36.44, .wm = 2.49, .group_size = 8, .se_ratio = 0.25,
//       .num_classes = 10});                                                        // regnety_002's layout
//   torch::Tensor logits = net->forward(torch::randn({2, 3, 224, 224}));            // [2, 10]
//   auto maps = net->forward_intermediates(images, {1, 2, 3, 4});                   // strides 4, 8, 16, 32
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/modules/container/any.h>

#include "autotimm/backbone.hpp"
#include "autotimm/config.hpp"
#include "autotimm/layers/activations.hpp"
#include "autotimm/layers/adaptive_avgmax_pool.hpp"
#include "autotimm/layers/classifier.hpp"
#include "blocks.hpp"

namespace autotimm::regnet {

/// timm's RegNetCfg fields followed by the RegNet constructor's keywords; names are timm's. The defaults are
/// RegNetCfg's (a RegNetY-3.2GF-like layout without SE) and RegNet's.
struct RegNetOptions {
  // RegNetCfg: the design-space parameters.
  std::int64_t depth = 21;       ///< blocks in all
  std::int64_t w0 = 80;          ///< initial width; > 0 and a multiple of 8
  double wa = 42.63;             ///< width slope (≥ 0)
  double wm = 2.66;              ///< width multiplier between stages (> 1)
  std::int64_t group_size = 24;  ///< channels per group of the 3×3 convs
  double bottle_ratio = 1.0;     ///< bottleneck width / block width (4 in RegNet-Z: inverted bottleneck)
  double se_ratio = 0.0;         ///< SE reduction relative to the block's input width; 0: no SE (RegNet-X)
  double group_min_ratio = 0.0;  ///< > 0: torchvision's make_divisible rounding of widths to the groups (`_tv`)
  std::int64_t stem_width = 32;
  Downsample downsample = Downsample::conv1x1;
  bool linear_out = false;        ///< no activation after the residual add; final_conv becomes the activation
  bool preact = false;            ///< pre-activation blocks (RegNet-V); the stem is a plain conv
  std::int64_t num_features = 0;  ///< > 0: a 1×1 ConvNormAct `final_conv` to this width before the head
  layers::Activation act_layer = layers::Activation::relu;
  NormLayer norm_layer = NormLayer::batchnorm;
  std::optional<std::int64_t> norm_group_size = {};  ///< GroupNorm groups of this many channels (unset: 32 groups)
  // RegNet's constructor.
  std::int64_t in_chans = 3;
  std::int64_t num_classes = 1000;  ///< 0 = headless: forward returns the pooled features
  std::int64_t output_stride = 32;  ///< 32, 16 or 8: later stages dilate instead of striding
  layers::PoolType global_pool = layers::PoolType::avg;
  double drop_rate = 0.0;       ///< dropout before the classifier
  double drop_path_rate = 0.0;  ///< stochastic depth, rising linearly from 0 over all blocks
  bool zero_init_last = true;   ///< zero conv3's norm weight in every Bottleneck at init
};

/// One stage as timm's RegNet._get_stage_args resolves it.
struct RegNetStage {
  std::int64_t depth = 0;
  std::int64_t out_chs = 0;       ///< the stage's width
  std::int64_t stride = 2;        ///< 1 once output_stride is reached
  std::int64_t dilation = 1;
  double bottle_ratio = 1.0;
  std::int64_t group_size = 0;    ///< after adjustment: min(group_size, bottleneck width)
  std::int64_t bottleneck_chs = 0;  ///< round(out_chs × bottle_ratio): the 3×3 conv's width
  std::int64_t groups = 0;          ///< bottleneck_chs / group_size
  std::vector<double> drop_path_rates = {};
};

/// timm's generate_regnet: the per-block widths w0 · wm^round(log((w0 + wa·j) / w0) / log(wm)), rounded to multiples
/// of `quant`. Consecutive equal widths make a stage.
std::vector<std::int64_t> generate_regnet_widths(double wa, std::int64_t w0, double wm, std::int64_t depth,
                                                 std::int64_t quant = 8);

/// The stages `options` describe, exactly as timm computes them (widths quantised, then made compatible with the
/// group width; strides and dilations from output_stride; drop-path rates from drop_path_rate). A design that is
/// not valid or does not give exactly four stages is a ConfigError naming the field and `name`.
std::vector<RegNetStage> regnet_stages(const RegNetOptions& options, const std::string& name = "regnet");

/// Reads timm's RegNetCfg and RegNet keywords from `model_args` over `defaults` (the variant's), so the user's keys
/// win. Unknown keys are left to the caller's expect_all_used(); a wrong type or an unknown choice is a ConfigError
/// naming the key.
RegNetOptions regnet_options_from(const Config& model_args, RegNetOptions defaults);

class RegNetImpl : public Backbone {
 public:
  /// Validates `options` (a ConfigError names the field) and builds the network with timm's initialisation.
  /// `pretrained_cfg.architecture` names the model in messages.
  explicit RegNetImpl(RegNetOptions options, PretrainedCfg pretrained_cfg = {});

  /// stem → s1 … s4 → final_conv.
  torch::Tensor forward_features(const torch::Tensor& x) override;
  /// Pool → dropout → head.fc; `pre_logits` stops before head.fc.
  torch::Tensor forward_head(const torch::Tensor& features, bool pre_logits = false) override;
  /// The maps after stem (stride 2), s1 (4), s2 (8), s3 (16), s4 (32), as timm's feature_info, named by `indices`
  /// (negative values count from the end), one per index in the order given, NCHW; stages after the last one asked
  /// for are skipped. As timm, final_conv is not applied to the s4 map.
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& x,
                                                   const std::vector<std::int64_t>& indices) override;

  const std::vector<FeatureInfo>& feature_info() const override { return feature_info_; }
  /// Channels of forward_features' output (timm's num_features): final_conv's width, else s4's.
  std::int64_t num_features() const override { return num_features_; }
  std::int64_t num_classes() const override { return options_.num_classes; }
  /// A fresh head.fc for `num_classes` (0: none) on the model's device and dtype; the pool type is kept.
  void reset_classifier(std::int64_t num_classes) override;

  const RegNetOptions& options() const noexcept { return options_; }
  /// The stages as built (the generator's result for these options).
  const std::vector<RegNetStage>& stages() const noexcept { return stage_specs_; }

 private:
  void validate() const;
  void init_weights();

  RegNetOptions options_;
  std::string name_;  // the architecture, for messages
  std::int64_t num_features_ = 0;
  std::vector<RegNetStage> stage_specs_;
  torch::nn::AnyModule stem_;
  std::vector<RegStage> stages_;  // s1 … s4
  torch::nn::AnyModule final_conv_;
  layers::ClassifierHead head_{nullptr};
  std::vector<FeatureInfo> feature_info_;
};
TORCH_MODULE(RegNet);

}  // namespace autotimm::regnet
