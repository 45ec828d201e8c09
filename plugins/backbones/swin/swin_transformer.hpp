#pragma once
// Swin Transformer, as timm's SwinTransformer (timm/models/swin_transformer.py): the same submodule names in the same
// order, so a timm state dict loads as it is, and the same numerics. The trunk runs NHWC, as timm's does:
// forward_features returns [B, H, W, C]; forward_intermediates returns NCHW maps (the SDK's contract, and timm's
// forward_intermediates default).
//
//   auto net = std::make_shared<autotimm::swin::SwinTransformerImpl>(autotimm::swin::SwinTransformerOptions{
//       .img_size = {64, 64}, .num_classes = 10, .embed_dim = 32, .depths = {2, 2, 2, 2}, .num_heads = {1, 2, 4, 8}});
//   torch::Tensor logits = net->forward(torch::randn({2, 3, 64, 64}));     // [2, 10]
//   torch::Tensor tokens = net->forward_features(images);                   // [2, 2, 2, 256], NHWC
//   auto maps = net->forward_intermediates(images, {0, 1, 2, 3});           // NCHW, strides 4, 8, 16, 32
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/modules/normalization.h>

#include "autotimm/backbone.hpp"
#include "autotimm/config.hpp"
#include "autotimm/layers/adaptive_avgmax_pool.hpp"
#include "autotimm/layers/classifier.hpp"
#include "autotimm/state_dict_adapter.hpp"
#include "blocks.hpp"

namespace autotimm::swin {

/// timm's SwinTransformer keywords; field names are timm's. The number of stages is depths.size().
struct SwinTransformerOptions {
  Size2 img_size = {224, 224};  ///< (H, W) the windows, shifts and masks are computed for
  std::int64_t patch_size = 4;
  std::int64_t in_chans = 3;
  std::int64_t num_classes = 1000;  ///< 0 = headless: forward returns the pooled features
  layers::PoolType global_pool = layers::PoolType::avg;  ///< timm allows 'avg' and '' (none) only
  std::int64_t embed_dim = 96;                          ///< stage i is embed_dim · 2^i wide
  std::vector<std::int64_t> depths = {2, 2, 6, 2};
  std::vector<std::int64_t> num_heads = {3, 6, 12, 24};   ///< one per stage
  std::optional<std::int64_t> head_dim = {};              ///< unset: each stage's width / num_heads
  /// One value (square, every stage), two ([height, width], every stage: timm reads a pair this way), or one per
  /// stage (swin_s3_*).
  std::vector<std::int64_t> window_size = {7};
  bool always_partition = false;  ///< keep the full window and shift even on maps not larger than the window
  bool strict_img_size = true;    ///< inputs must be img_size; false: any multiple of patch_size, masks per input
  std::vector<double> mlp_ratio = {4.0};  ///< one for every stage, or one per stage
  bool qkv_bias = true;
  double drop_rate = 0.0;         ///< dropout before the classifier
  double proj_drop_rate = 0.0;    ///< dropout after attn.proj and in the MLP
  double attn_drop_rate = 0.0;    ///< dropout on the attention weights
  double drop_path_rate = 0.1;    ///< stochastic depth (training only), rising linearly over all blocks (timm: 0.1)
};

/// Reads timm's SwinTransformer keywords from `model_args` over `defaults` (the variant's), so the user's keys win.
/// Unknown keys are left to the caller's expect_all_used(); a wrong type or an unsupported value is a ConfigError
/// naming the key.
SwinTransformerOptions swin_options_from(const Config& model_args, SwinTransformerOptions defaults);

class SwinTransformerImpl : public Backbone, public StateDictAdapter {
 public:
  /// Validates `options` (a ConfigError names the field) and builds the network with timm's initialisation
  /// (weight_init ''). `pretrained_cfg.architecture` names the model in messages.
  explicit SwinTransformerImpl(SwinTransformerOptions options, PretrainedCfg pretrained_cfg = {});

  /// patch_embed → layers → norm: [B, H/32, W/32, num_features] at the default patch size, NHWC as timm.
  torch::Tensor forward_features(const torch::Tensor& x) override;
  /// Average over H and W → dropout → head.fc (global_pool '': the NHWC features, after dropout).
  torch::Tensor forward_head(const torch::Tensor& features, bool pre_logits = false) override;
  /// The outputs of the stages named by `indices` (negative values count from the end), NCHW, without the final
  /// norm (timm's forward_intermediates defaults); one per index, in the order given. Later stages are skipped.
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& x,
                                                   const std::vector<std::int64_t>& indices) override;

  const std::vector<FeatureInfo>& feature_info() const override { return feature_info_; }
  /// embed_dim · 2^(stages − 1).
  std::int64_t num_features() const override { return num_features_; }
  std::int64_t num_classes() const override { return options_.num_classes; }
  /// A fresh head.fc for `num_classes` (0: none) on the model's device and dtype; the pool is kept.
  void reset_classifier(std::int64_t num_classes) override;

  /// What timm's checkpoint_filter_fn does for weights in timm's or Microsoft's layout: drops the buffers older
  /// checkpoints saved (`relative_position_index`, `attn_mask`), renames the original layout (PatchMerging at the end
  /// of a stage: `layers.N.downsample` → `layers.N+1.downsample`; `head` → `head.fc`), and resamples a
  /// `relative_position_bias_table` made for another window (a window-7 checkpoint in a window-12 model) with timm's
  /// resize_rel_pos_bias_table. Returns the dropped keys, the renamed keys (new names) and the resampled tables;
  /// FormatError for a table that cannot be resampled (not a square window's, or another head count).
  std::vector<std::string> adapt_state_dict(std::map<std::string, torch::Tensor>& tensors,
                                            const std::string& source) const override;

  const SwinTransformerOptions& options() const noexcept { return options_; }
  /// The stages (timm's `layers`), for tests and feature extraction.
  const std::vector<SwinTransformerStage>& stages() const noexcept { return stages_; }
  /// The window of each stage, per stage, before clipping to its resolution.
  const std::vector<Size2>& stage_windows() const noexcept { return windows_; }

 private:
  void validate();
  void init_weights();
  void check_input(const torch::Tensor& x) const;

  SwinTransformerOptions options_;
  std::string name_;  // the architecture, for messages
  std::int64_t num_features_ = 0;
  std::vector<Size2> windows_;
  std::vector<double> mlp_ratios_;
  PatchEmbed patch_embed_{nullptr};
  std::vector<SwinTransformerStage> stages_;
  torch::nn::LayerNorm norm_{nullptr};
  layers::ClassifierHead head_{nullptr};
  std::vector<FeatureInfo> feature_info_;
};
TORCH_MODULE(SwinTransformer);

}  // namespace autotimm::swin
