#pragma once
// Vision Transformer (ViT) and DeiT, as timm's VisionTransformer (timm/models/vision_transformer.py) and
// VisionTransformerDistilled (timm/models/deit.py): the same parameter names in the same order, so a timm state dict
// loads as it is, and the same numerics.
//
//   auto net = std::make_shared<autotimm::vit::VisionTransformerImpl>(autotimm::vit::VisionTransformerOptions{
//       .patch_size = 16, .num_classes = 10, .embed_dim = 384, .depth = 12, .num_heads = 6});
//   torch::Tensor logits = net->forward(torch::randn({2, 3, 224, 224}));     // [2, 10]
//   auto maps = net->forward_intermediates(images, {-4, -1});                 // NCHW, stride 16
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "autotimm/backbone.hpp"
#include "autotimm/config.hpp"
#include "autotimm/layers/activations.hpp"
#include "autotimm/layers/patch_embed.hpp"
#include "autotimm/state_dict_adapter.hpp"
#include "blocks.hpp"

namespace autotimm::vit {

/// timm's global_pool for ViT: the class token, an average / max / avg-max over the patch tokens, or none ('').
/// timm's attention pools ('map', 'prr') are not provided.
enum class GlobalPool { token, avg, avgmax, max, none };

std::string_view to_string(GlobalPool pool) noexcept;
/// ConfigError naming `context` and the valid names for anything else; 'map' and 'prr' get their own message.
GlobalPool parse_global_pool(std::string_view name, std::string_view context);

/// timm's VisionTransformer keywords (field names are timm's), plus `distilled`, which selects deit.py's
/// VisionTransformerDistilled (a distillation token after the class token, and a second head `head_dist`).
struct VisionTransformerOptions {
  std::array<std::int64_t, 2> img_size = {224, 224};  ///< (H, W) the position embedding is made for
  std::int64_t patch_size = 16;
  std::int64_t in_chans = 3;
  std::int64_t num_classes = 1000;  ///< 0 = headless: forward returns pooled features
  GlobalPool global_pool = GlobalPool::token;
  std::int64_t embed_dim = 768;
  std::int64_t depth = 12;
  std::int64_t num_heads = 12;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  bool qk_norm = false;
  bool proj_bias = true;
  std::optional<double> init_values = {};  ///< layer scale (ls1/ls2) with this initial value; unset or 0: none
  bool class_token = true;
  bool pos_embed = true;        ///< timm's pos_embed='learn'; false is '' / 'none' (no position embedding)
  bool no_embed_class = false;  ///< the position embedding covers only the patch tokens (added before the prefix)
  std::int64_t reg_tokens = 0;  ///< register tokens after the class token
  bool pre_norm = false;        ///< norm_pre after the embedding (and no patch-embed bias), as CLIP
  bool final_norm = true;
  std::optional<bool> fc_norm = {};  ///< norm after pooling instead of before; unset: on for avg/avgmax/max pools
  bool pool_include_prefix = false;  ///< avg/max pools include the prefix tokens
  bool dynamic_img_size = false;     ///< any input size: the position embedding is resampled to the input's grid
  bool dynamic_img_pad = false;      ///< pad inputs up to a multiple of the patch size
  double drop_rate = 0.0;            ///< dropout before the head
  double pos_drop_rate = 0.0;        ///< dropout after adding the position embedding
  double proj_drop_rate = 0.0;       ///< dropout after attn.proj and in the MLP
  double attn_drop_rate = 0.0;       ///< dropout on the attention weights
  double drop_path_rate = 0.0;       ///< stochastic depth, rising linearly to this rate over the blocks
  bool fix_init = false;             ///< scale attn.proj and mlp.fc2 weights by 1/sqrt(2·(layer + 1)) at init
  layers::Activation act_layer = layers::Activation::gelu;
  bool distilled = false;  ///< DeiT: dist_token and head_dist; needs class_token, global_pool token, no registers
};

/// Reads timm's VisionTransformer keywords from `model_args` over `defaults` (the variant's), so the user's keys win.
/// Every key is read through the Config, so the caller's expect_all_used() names unknown ones; a wrong type or an
/// unsupported value is a ConfigError naming the key.
VisionTransformerOptions vit_options_from(const Config& model_args, VisionTransformerOptions defaults);

class VisionTransformerImpl : public Backbone, public StateDictAdapter {
 public:
  /// Validates `options` (a ConfigError names the field) and builds the network with timm's default initialisation
  /// (weight_init ''). `pretrained_cfg` becomes pretrained_cfg(); its `architecture` names the model in messages.
  explicit VisionTransformerImpl(VisionTransformerOptions options, PretrainedCfg pretrained_cfg = {});

  /// Tokens after the final norm: [N, prefix + H'·W', embed_dim].
  torch::Tensor forward_features(const torch::Tensor& x) override;
  /// Pool → fc_norm → dropout → head. Distilled: the mean of head(class token) and head_dist(distillation token),
  /// in training as in eval (timm's behaviour unless distilled_training is set; see forward_distillation_heads).
  torch::Tensor forward_head(const torch::Tensor& features, bool pre_logits = false) override;
  /// The patch tokens of the blocks named by `indices` (negative values count from the end) as NCHW maps at stride
  /// patch_size, prefix tokens removed, no final norm (timm's defaults); one per index, in the order given.
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& x,
                                                   const std::vector<std::int64_t>& indices) override;
  /// Distilled models: (head(class token), head_dist(distillation token)) separately, what timm's forward returns in
  /// training with distilled_training set, for a distillation loss. ConfigError for other models or without a head.
  std::pair<torch::Tensor, torch::Tensor> forward_distillation_heads(const torch::Tensor& features);

  const std::vector<FeatureInfo>& feature_info() const override { return feature_info_; }
  std::int64_t num_features() const override { return options_.embed_dim; }
  std::int64_t num_classes() const override { return options_.num_classes; }
  /// Fresh `head` (and `head_dist`) for `num_classes` (0: none), on the model's device and dtype; the pool is kept.
  void reset_classifier(std::int64_t num_classes) override;

  /// A checkpoint made for another grid (a 224 checkpoint in a 384 model) gets its `pos_embed` resampled to this
  /// model's grid, prefix tokens kept, bicubic with antialiasing, as timm's checkpoint_filter_fn.
  std::vector<std::string> adapt_state_dict(std::map<std::string, torch::Tensor>& tensors,
                                            const std::string& source) const override;

  const VisionTransformerOptions& options() const noexcept { return options_; }
  /// Class, register and distillation tokens in front of the patch tokens.
  std::int64_t num_prefix_tokens() const noexcept { return num_prefix_tokens_; }
  /// The patch grid of img_size.
  std::array<std::int64_t, 2> grid_size() const noexcept { return patch_embed_->grid_size(); }

 private:
  void validate() const;
  void init_weights();
  torch::Tensor embed_tokens(const torch::Tensor& x);     // patch_embed → position embedding → norm_pre
  torch::Tensor add_position_embedding(torch::Tensor x);  // timm's _pos_embed
  torch::Tensor pool(const torch::Tensor& x) const;       // timm's global_pool_nlc
  std::pair<torch::nn::Linear, torch::nn::Linear> make_heads(std::int64_t num_classes) const;

  VisionTransformerOptions options_;
  std::string name_;  // the architecture, for messages
  std::int64_t num_prefix_tokens_ = 0;
  layers::PatchEmbed patch_embed_{nullptr};
  torch::Tensor cls_token_;  // undefined when absent, as every optional tensor below
  torch::Tensor reg_token_;
  torch::Tensor pos_embed_;
  torch::Tensor dist_token_;
  torch::nn::LayerNorm norm_pre_{nullptr};  // nullptr: timm's nn.Identity
  torch::nn::ModuleList blocks_{nullptr};
  std::vector<Block> block_list_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::LayerNorm fc_norm_{nullptr};
  torch::nn::Linear head_{nullptr};
  torch::nn::Linear head_dist_{nullptr};
  std::vector<FeatureInfo> feature_info_;
};
TORCH_MODULE(VisionTransformer);

}  // namespace autotimm::vit
