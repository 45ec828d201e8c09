#include "vision_transformer.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/feature_info.hpp"
#include "autotimm/layers/pos_embed.hpp"
#include "autotimm/layers/weight_init.hpp"
#include "autotimm/names.hpp"

namespace autotimm::vit {
namespace {

constexpr double kTokenInitStd = 1e-6;  // timm's normal_(std=1e-6) for the class and register tokens
constexpr double kTruncNormalStd = 0.02;

constexpr std::array<std::pair<std::string_view, GlobalPool>, 5> kPools = {{
    {"token", GlobalPool::token},
    {"avg", GlobalPool::avg},
    {"avgmax", GlobalPool::avgmax},
    {"max", GlobalPool::max},
    {"", GlobalPool::none},
}};

bool reduces_tokens(GlobalPool pool) {
  return pool == GlobalPool::avg || pool == GlobalPool::avgmax || pool == GlobalPool::max;
}

}  // namespace

std::string_view to_string(GlobalPool pool) noexcept {
  for (const auto& [name, value] : kPools) {
    if (value == pool) return name;
  }
  return "?";
}

GlobalPool parse_global_pool(std::string_view name, std::string_view context) {
  for (const auto& [spelling, value] : kPools) {
    if (spelling == name) return value;
  }
  if (name == "map" || name == "prr") {
    throw ConfigError(std::string(context) + ": global_pool '" + std::string(name) +
                      "' (attention pooling) is not supported by this ViT plugin; use 'token', 'avg', 'avgmax', "
                      "'max' or ''");
  }
  std::vector<std::string> valid;
  for (const auto& [spelling, value] : kPools) valid.push_back("'" + std::string(spelling) + "'");
  throw ConfigError(std::string(context) + ": expected a global pool (" + join_names(valid) + "), got '" +
                    std::string(name) + "'");
}

VisionTransformerImpl::VisionTransformerImpl(VisionTransformerOptions options, PretrainedCfg pretrained_cfg)
    : options_(std::move(options)) {
  name_ = pretrained_cfg.architecture.empty() ? std::string("vision_transformer") : pretrained_cfg.architecture;
  validate();
  const auto& o = options_;
  num_prefix_tokens_ = (o.class_token ? 1 : 0) + o.reg_tokens + (o.distilled ? 1 : 0);

  // patch_embed; with dynamic_img_size the tokens stay NHWC until the position embedding is resampled to them.
  const layers::PatchEmbedOptions embed{.img_size = o.img_size,
                                        .patch_size = o.patch_size,
                                        .in_chans = o.in_chans,
                                        .embed_dim = o.embed_dim,
                                        .bias = !o.pre_norm,
                                        .strict_img_size = !o.dynamic_img_size,
                                        .dynamic_img_pad = o.dynamic_img_pad,
                                        .output_nhwc = o.dynamic_img_size};
  patch_embed_ = register_module("patch_embed", layers::PatchEmbed(embed));
  if (o.class_token) cls_token_ = register_parameter("cls_token", torch::zeros({1, 1, o.embed_dim}));
  if (o.reg_tokens) reg_token_ = register_parameter("reg_token", torch::zeros({1, o.reg_tokens, o.embed_dim}));
  const std::int64_t embed_len = patch_embed_->num_patches() + (o.no_embed_class ? 0 : num_prefix_tokens_);
  if (o.pos_embed) pos_embed_ = register_parameter("pos_embed", torch::zeros({1, embed_len, o.embed_dim}));
  // deit.py adds dist_token after VisionTransformer's own parameters: it follows pos_embed in the state dict.
  if (o.distilled) dist_token_ = register_parameter("dist_token", torch::zeros({1, 1, o.embed_dim}));

  const auto norm = torch::nn::LayerNormOptions({o.embed_dim}).eps(kLayerNormEps);
  if (o.pre_norm) norm_pre_ = register_module("norm_pre", torch::nn::LayerNorm(norm));

  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < o.depth; ++i) {
    // timm's calculate_drop_path_rates: linear from 0 to drop_path_rate over the blocks.
    const double drop_path =
        o.depth > 1 ? o.drop_path_rate * static_cast<double>(i) / static_cast<double>(o.depth - 1) : 0.0;
    Block block(BlockOptions{.dim = o.embed_dim,
                             .num_heads = o.num_heads,
                             .mlp_ratio = o.mlp_ratio,
                             .qkv_bias = o.qkv_bias,
                             .qk_norm = o.qk_norm,
                             .proj_bias = o.proj_bias,
                             .proj_drop = o.proj_drop_rate,
                             .attn_drop = o.attn_drop_rate,
                             .init_values = o.init_values,
                             .drop_path = drop_path,
                             .act_layer = o.act_layer});
    blocks_->push_back(block);
    block_list_.push_back(block);
    feature_info_.push_back({o.embed_dim, o.patch_size, "blocks." + std::to_string(i)});
  }

  const bool use_fc_norm = o.fc_norm.value_or(reduces_tokens(o.global_pool));
  if (o.final_norm && !use_fc_norm) norm_ = register_module("norm", torch::nn::LayerNorm(norm));
  if (o.final_norm && use_fc_norm) fc_norm_ = register_module("fc_norm", torch::nn::LayerNorm(norm));
  auto [head, head_dist] = make_heads(o.num_classes);
  if (head) head_ = register_module("head", head);
  if (head_dist) head_dist_ = register_module("head_dist", head_dist);

  init_weights();
  validate_feature_info(feature_info_, name_);
  if (pretrained_cfg.first_conv.empty()) pretrained_cfg.first_conv = "patch_embed.proj";
  if (pretrained_cfg.classifier.empty()) pretrained_cfg.classifier = o.distilled ? "head,head_dist" : "head";
  set_pretrained_cfg(std::move(pretrained_cfg));
}

void VisionTransformerImpl::validate() const {
  const auto& o = options_;
  const auto fail = [&](const std::string& field, const std::string& expected, const std::string& got,
                        const std::string& advice = {}) { fail_option(name_, field, expected, got, advice); };
  if (o.patch_size < 1) fail("patch_size", "at least 1", std::to_string(o.patch_size));
  for (const auto side : o.img_size) {
    if (side < 1 || (!o.dynamic_img_pad && side % o.patch_size != 0)) {
      fail("img_size", "sizes that are multiples of patch_size " + std::to_string(o.patch_size),
           std::to_string(o.img_size[0]) + "x" + std::to_string(o.img_size[1]));
    }
  }
  if (o.in_chans < 1) fail("in_chans", "at least 1", std::to_string(o.in_chans));
  if (o.num_classes < 0) fail("num_classes", "0 (no classifier) or more", std::to_string(o.num_classes));
  if (o.embed_dim < 1) fail("embed_dim", "at least 1", std::to_string(o.embed_dim));
  if (o.depth < 1) fail("depth", "at least 1 block", std::to_string(o.depth));
  if (o.num_heads < 1 || o.embed_dim % o.num_heads != 0) {
    fail("num_heads", "a divisor of embed_dim " + std::to_string(o.embed_dim), std::to_string(o.num_heads));
  }
  if (!(o.mlp_ratio > 0.0) || static_cast<std::int64_t>(static_cast<double>(o.embed_dim) * o.mlp_ratio) < 1) {
    fail("mlp_ratio", "a ratio giving an MLP at least 1 wide", shown(o.mlp_ratio));
  }
  if (o.reg_tokens < 0) fail("reg_tokens", "0 or more", std::to_string(o.reg_tokens));
  if (o.global_pool == GlobalPool::token && !o.class_token) {
    fail("global_pool", "a pool other than 'token' without a class token", "'token' with class_token=false",
         "use global_pool 'avg', or keep the class token");
  }
  const auto probability = [&](double value, const char* field) {
    if (!(value >= 0.0 && value < 1.0)) fail(field, "a probability in [0, 1)", shown(value));
  };
  probability(o.drop_rate, "drop_rate");
  probability(o.pos_drop_rate, "pos_drop_rate");
  probability(o.proj_drop_rate, "proj_drop_rate");
  probability(o.attn_drop_rate, "attn_drop_rate");
  probability(o.drop_path_rate, "drop_path_rate");
  if (o.distilled) {
    if (!o.class_token || o.global_pool != GlobalPool::token) {
      fail("global_pool", "'token' with a class token for a distilled (DeiT) model",
           "'" + std::string(to_string(o.global_pool)) + "'" + (o.class_token ? "" : " without a class token"));
    }
    if (o.reg_tokens != 0) fail("reg_tokens", "0 for a distilled (DeiT) model", std::to_string(o.reg_tokens));
    if (!o.pos_embed) fail("pos_embed", "'learn' for a distilled (DeiT) model", "'none'");
  }
}

std::pair<torch::nn::Linear, torch::nn::Linear> VisionTransformerImpl::make_heads(std::int64_t num_classes) const {
  if (num_classes <= 0) return {nullptr, nullptr};
  torch::nn::Linear head(options_.embed_dim, num_classes);
  torch::nn::Linear head_dist{nullptr};
  if (options_.distilled) head_dist = torch::nn::Linear(options_.embed_dim, num_classes);
  return {head, head_dist};
}

void VisionTransformerImpl::init_weights() {
  // timm's init_weights with weight_init '' (init_weights_vit_timm): truncated-normal position embedding, tiny normal
  // class and register tokens, truncated-normal Linear weights with zero biases; the patch conv and the LayerNorms
  // keep PyTorch's defaults, as in timm. deit.py draws the distillation token like the position embedding.
  torch::NoGradGuard no_grad;
  if (pos_embed_.defined()) layers::trunc_normal_(pos_embed_, 0.0, kTruncNormalStd);
  if (cls_token_.defined()) cls_token_.normal_(0.0, kTokenInitStd);
  if (reg_token_.defined()) reg_token_.normal_(0.0, kTokenInitStd);
  if (dist_token_.defined()) layers::trunc_normal_(dist_token_, 0.0, kTruncNormalStd);
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::LinearImpl>()) {
      layers::trunc_normal_(linear->weight, 0.0, kTruncNormalStd);
      if (linear->bias.defined()) linear->bias.zero_();
    }
  }
  if (options_.fix_init) {
    for (std::size_t i = 0; i < block_list_.size(); ++i) {
      const double scale = std::sqrt(2.0 * static_cast<double>(i + 1));
      block_list_[i]->attn()->proj->weight.div_(scale);
      block_list_[i]->mlp()->fc2->weight.div_(scale);
    }
  }
}

torch::Tensor VisionTransformerImpl::add_position_embedding(torch::Tensor x) {
  const std::int64_t batch = x.size(0), dim = x.size(-1);
  std::vector<torch::Tensor> prefix;
  if (cls_token_.defined()) prefix.push_back(cls_token_.expand({batch, -1, -1}));
  if (reg_token_.defined()) prefix.push_back(reg_token_.expand({batch, -1, -1}));
  if (dist_token_.defined()) prefix.push_back(dist_token_.expand({batch, -1, -1}));
  const auto with_prefix = [&](const torch::Tensor& tokens) {
    if (prefix.empty()) return tokens;
    auto parts = prefix;
    parts.push_back(tokens);
    return torch::cat(parts, 1);
  };

  torch::Tensor pos_embed = pos_embed_;
  if (options_.dynamic_img_size) {
    // x is [N, H', W', C]: the embedding follows the input's grid.
    if (pos_embed_.defined()) {
      pos_embed = layers::resample_abs_pos_embed(pos_embed_, {x.size(1), x.size(2)}, grid_size(),
                                                 options_.no_embed_class ? 0 : num_prefix_tokens_);
    }
    x = x.reshape({batch, -1, dim});
  }
  if (!pos_embed.defined()) return with_prefix(x);
  if (options_.no_embed_class) {
    x = with_prefix(x + pos_embed);  // deit-3 / big_vision: the embedding skips the prefix tokens
  } else {
    x = with_prefix(x) + pos_embed;  // original ViT and DeiT: the embedding covers the prefix tokens too
  }
  if (options_.pos_drop_rate > 0.0) x = torch::dropout(x, options_.pos_drop_rate, is_training());
  return x;
}

torch::Tensor VisionTransformerImpl::embed_tokens(const torch::Tensor& x) {
  torch::Tensor y = add_position_embedding(patch_embed_->forward(x));
  if (norm_pre_) y = norm_pre_->forward(y);
  return y;
}

torch::Tensor VisionTransformerImpl::forward_features(const torch::Tensor& x) {
  torch::Tensor y = embed_tokens(x);
  std::int64_t index = 0;  // feature_info: one entry per block, [N, L, D] tokens here
  for (auto& block : block_list_) y = stage_output(index++, block->forward(y), StageLayout::tokens);
  if (norm_) y = norm_->forward(y);
  return y;
}

torch::Tensor VisionTransformerImpl::pool(const torch::Tensor& x) const {
  switch (options_.global_pool) {
    case GlobalPool::none: return x;
    case GlobalPool::token: return x.select(1, 0);
    default: break;
  }
  const torch::Tensor tokens =
      options_.pool_include_prefix ? x : x.narrow(1, num_prefix_tokens_, x.size(1) - num_prefix_tokens_);
  switch (options_.global_pool) {
    case GlobalPool::avg: return tokens.mean(1);
    case GlobalPool::max: return tokens.amax(1);
    default: return 0.5 * (tokens.amax(1) + tokens.mean(1));  // avgmax
  }
}

torch::Tensor VisionTransformerImpl::forward_head(const torch::Tensor& features, bool pre_logits) {
  if (options_.distilled) {
    // deit.py: no pooling options, fc_norm or head dropout; the two token streams are averaged.
    const torch::Tensor cls = features.select(1, 0), dist = features.select(1, 1);
    if (pre_logits || !head_) return (cls + dist) / 2;
    return (head_->forward(cls) + head_dist_->forward(dist)) / 2;
  }
  torch::Tensor y = pool(features);
  if (fc_norm_) y = fc_norm_->forward(y);
  if (options_.drop_rate > 0.0) y = torch::dropout(y, options_.drop_rate, is_training());
  if (pre_logits || !head_) return y;
  return head_->forward(y);
}

std::pair<torch::Tensor, torch::Tensor> VisionTransformerImpl::forward_distillation_heads(
    const torch::Tensor& features) {
  if (!options_.distilled || !head_) {
    throw ConfigError(name_ + ": forward_distillation_heads needs a distilled (DeiT) model with a classifier; " +
                      "this one " + (options_.distilled ? "has num_classes=0" : "has no distillation token") +
                      "; use forward_head instead");
  }
  return {head_->forward(features.select(1, 0)), head_dist_->forward(features.select(1, 1))};
}

std::vector<torch::Tensor> VisionTransformerImpl::forward_intermediates(const torch::Tensor& x,
                                                                       const std::vector<std::int64_t>& indices) {
  const auto wanted = resolve_feature_indices(indices, static_cast<std::int64_t>(block_list_.size()));
  if (wanted.empty()) return {};
  const std::int64_t last = *std::max_element(wanted.begin(), wanted.end());
  const auto [grid_h, grid_w] = patch_embed_->dynamic_feat_size(x.size(2), x.size(3));
  std::vector<torch::Tensor> maps(static_cast<std::size_t>(last + 1));  // maps[i]: block i's patch tokens as NCHW
  torch::Tensor y = embed_tokens(x);
  for (std::int64_t i = 0; i <= last; ++i) {
    y = stage_output(i, block_list_[static_cast<std::size_t>(i)]->forward(y), StageLayout::tokens);
    maps[static_cast<std::size_t>(i)] = y.narrow(1, num_prefix_tokens_, y.size(1) - num_prefix_tokens_)
                                            .reshape({y.size(0), grid_h, grid_w, -1})
                                            .permute({0, 3, 1, 2})
                                            .contiguous();
  }
  std::vector<torch::Tensor> out;
  out.reserve(wanted.size());
  for (const auto index : wanted) out.push_back(maps[static_cast<std::size_t>(index)]);
  return out;
}

void VisionTransformerImpl::reset_classifier(std::int64_t num_classes) {
  if (num_classes < 0) {
    throw ConfigError(name_ + ": reset_classifier: expected num_classes 0 (no classifier) or more, got " +
                      std::to_string(num_classes));
  }
  if (head_) unregister_module("head");
  if (head_dist_) unregister_module("head_dist");
  head_ = nullptr;
  head_dist_ = nullptr;
  auto [head, head_dist] = make_heads(num_classes);
  // The new layers join the model where it lives (timm's get_device_dtype), with timm's Linear init.
  const auto reference = patch_embed_->proj->weight;
  for (auto* linear : {&head, &head_dist}) {
    if (!*linear) continue;
    torch::NoGradGuard no_grad;
    layers::trunc_normal_((*linear)->weight, 0.0, kTruncNormalStd);
    (*linear)->bias.zero_();
    (*linear)->to(reference.device(), reference.scalar_type());
    (*linear)->train(is_training());
  }
  if (head) head_ = register_module("head", head);
  if (head_dist) head_dist_ = register_module("head_dist", head_dist);
  options_.num_classes = num_classes;
}

}  // namespace autotimm::vit
