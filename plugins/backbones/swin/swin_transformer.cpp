#include "swin_transformer.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/feature_info.hpp"
#include "autotimm/layers/weight_init.hpp"

namespace autotimm::swin {
namespace {

std::string size_text(Size2 size) { return std::to_string(size[0]) + "x" + std::to_string(size[1]); }

}  // namespace

SwinTransformerImpl::SwinTransformerImpl(SwinTransformerOptions options, PretrainedCfg pretrained_cfg)
    : options_(std::move(options)) {
  name_ = pretrained_cfg.architecture.empty() ? std::string("swin_transformer") : pretrained_cfg.architecture;
  validate();
  const auto& o = options_;
  const auto stages = static_cast<std::int64_t>(o.depths.size());
  num_features_ = o.embed_dim << (stages - 1);

  patch_embed_ = register_module("patch_embed", PatchEmbed(PatchEmbedOptions{.img_size = o.img_size,
                                                                              .patch_size = o.patch_size,
                                                                              .in_chans = o.in_chans,
                                                                              .embed_dim = o.embed_dim,
                                                                              .strict_img_size = o.strict_img_size}));
  const Size2 grid = {o.img_size[0] / o.patch_size, o.img_size[1] / o.patch_size};

  // Stochastic depth rises linearly over all blocks (timm's float32 linspace, split per stage).
  const std::int64_t total_blocks = std::accumulate(o.depths.begin(), o.depths.end(), std::int64_t{0});
  const auto rates = torch::linspace(0.0, o.drop_path_rate, total_blocks, torch::kFloat32);
  auto layers = torch::nn::Sequential();
  std::int64_t in_dim = o.embed_dim, scale = 1, block_index = 0;
  for (std::int64_t i = 0; i < stages; ++i) {
    const std::int64_t out_dim = o.embed_dim << i;
    const auto index = static_cast<std::size_t>(i);
    SwinStageOptions stage{.dim = in_dim,
                           .out_dim = out_dim,
                           .input_resolution = {grid[0] / scale, grid[1] / scale},
                           .downsample = i > 0,
                           .num_heads = o.num_heads[index],
                           .head_dim = o.head_dim,
                           .window_size = windows_[index],
                           .always_partition = o.always_partition,
                           .dynamic_mask = !o.strict_img_size,
                           .mlp_ratio = mlp_ratios_[index],
                           .qkv_bias = o.qkv_bias,
                           .proj_drop = o.proj_drop_rate,
                           .attn_drop = o.attn_drop_rate};
    for (std::int64_t b = 0; b < o.depths[index]; ++b) stage.drop_path.push_back(rates[block_index++].item<double>());
    stages_.push_back(SwinTransformerStage(stage));
    layers->push_back(stages_.back());
    in_dim = out_dim;
    if (i > 0) scale *= 2;
    feature_info_.push_back({out_dim, o.patch_size * scale, "layers." + std::to_string(i)});
  }
  register_module("layers", layers);

  norm_ = register_module("norm",
                          torch::nn::LayerNorm(torch::nn::LayerNormOptions({num_features_}).eps(kLayerNormEps)));
  head_ = register_module("head", layers::ClassifierHead(layers::ClassifierHeadOptions{.in_features = num_features_,
                                                                                       .num_classes = o.num_classes,
                                                                                       .pool_type = o.global_pool,
                                                                                       .drop_rate = o.drop_rate}));
  init_weights();
  validate_feature_info(feature_info_, name_);
  if (pretrained_cfg.first_conv.empty()) pretrained_cfg.first_conv = "patch_embed.proj";
  if (pretrained_cfg.classifier.empty()) pretrained_cfg.classifier = "head.fc";
  set_pretrained_cfg(std::move(pretrained_cfg));
}

void SwinTransformerImpl::validate() {
  const auto& o = options_;
  const auto fail = [&](const std::string& field, const std::string& expected, const std::string& got,
                        const std::string& advice = {}) { fail_option(name_, field, expected, got, advice); };
  const auto positive = [](const std::vector<std::int64_t>& values) {
    return std::all_of(values.begin(), values.end(), [](auto v) { return v >= 1; });
  };
  if (o.depths.empty() || !positive(o.depths)) {
    fail("depths", "one block count of at least 1 per stage", shown(o.depths));
  }
  const std::size_t stages = o.depths.size();
  if (stages > 16) fail("depths", "at most 16 stages", std::to_string(stages) + " stages");
  if (o.num_heads.size() != stages || !positive(o.num_heads)) {
    fail("num_heads", std::to_string(stages) + " head counts of at least 1 (one per stage in depths)",
         shown(o.num_heads));
  }
  if (o.patch_size < 1) fail("patch_size", "at least 1", std::to_string(o.patch_size));
  if (o.in_chans < 1) fail("in_chans", "at least 1", std::to_string(o.in_chans));
  if (o.embed_dim < 1) fail("embed_dim", "at least 1", std::to_string(o.embed_dim));
  if (o.num_classes < 0) fail("num_classes", "0 (no classifier) or more", std::to_string(o.num_classes));
  if (o.img_size[0] < 1 || o.img_size[1] < 1 || o.img_size[0] % o.patch_size || o.img_size[1] % o.patch_size) {
    fail("img_size", "positive multiples of patch_size " + std::to_string(o.patch_size), size_text(o.img_size));
  }
  if (o.head_dim && *o.head_dim < 1) fail("head_dim", "at least 1 (or unset)", std::to_string(*o.head_dim));
  for (std::size_t i = 0; i < stages && !o.head_dim; ++i) {
    if ((o.embed_dim << i) < o.num_heads[i]) {
      fail("num_heads", "at most the stage's width (" + std::to_string(o.embed_dim << i) + ") heads in stage " +
                            std::to_string(i),
           shown(o.num_heads), "widen embed_dim, use fewer heads, or set head_dim");
    }
  }
  // window_size: one for all, an (h, w) pair for all (timm reads two values this way), or one per stage.
  if (!positive(o.window_size)) fail("window_size", "sizes of at least 1", shown(o.window_size));
  windows_.clear();
  if (o.window_size.size() == 1) {
    windows_.assign(stages, Size2{o.window_size[0], o.window_size[0]});
  } else if (o.window_size.size() == 2) {
    windows_.assign(stages, Size2{o.window_size[0], o.window_size[1]});
  } else if (o.window_size.size() == stages) {
    for (const auto w : o.window_size) windows_.push_back({w, w});
  } else {
    fail("window_size", "one size, [height, width], or " + std::to_string(stages) + " sizes (one per stage)",
         shown(o.window_size));
  }
  if (o.mlp_ratio.size() == 1) {
    mlp_ratios_.assign(stages, o.mlp_ratio[0]);
  } else if (o.mlp_ratio.size() == stages) {
    mlp_ratios_ = o.mlp_ratio;
  } else {
    fail("mlp_ratio", "one ratio, or " + std::to_string(stages) + " (one per stage)", shown(o.mlp_ratio));
  }
  for (std::size_t i = 0; i < stages; ++i) {
    if (static_cast<std::int64_t>(static_cast<double>(o.embed_dim << i) * mlp_ratios_[i]) < 1) {
      fail("mlp_ratio", "a ratio giving every stage an MLP at least 1 wide", shown(o.mlp_ratio));
    }
  }
  if (o.global_pool != layers::PoolType::avg && o.global_pool != layers::PoolType::none) {
    fail("global_pool", "'avg' or '' (timm's Swin allows no other)",
         "'" + std::string(layers::pool_type_name(o.global_pool)) + "'");
  }
  if (o.global_pool == layers::PoolType::none && o.num_classes > 0) {
    fail("global_pool", "'avg' when num_classes > 0", "'' with num_classes=" + std::to_string(o.num_classes),
         "set num_classes=0 to get the unpooled NHWC features from forward_head");
  }
  const auto probability = [&](double value, const char* field) {
    if (!(value >= 0.0 && value < 1.0)) fail(field, "a probability in [0, 1)", shown(value));
  };
  probability(o.drop_rate, "drop_rate");
  probability(o.proj_drop_rate, "proj_drop_rate");
  probability(o.attn_drop_rate, "attn_drop_rate");
  probability(o.drop_path_rate, "drop_path_rate");
}

void SwinTransformerImpl::init_weights() {
  // timm's init_weights_vit_timm: every Linear from a truncated N(0, 0.02), biases zero. The patch conv and the
  // LayerNorms keep PyTorch's defaults; the bias tables were drawn by WindowAttention (truncated N(0, 0.02)).
  torch::NoGradGuard no_grad;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* fc = module->as<torch::nn::LinearImpl>()) {
      layers::trunc_normal_(fc->weight, 0.0, 0.02);
      if (fc->bias.defined()) fc->bias.zero_();
    }
  }
}

void SwinTransformerImpl::check_input(const torch::Tensor& x) const {
  const auto& o = options_;
  if (x.dim() != 4 || x.size(1) != o.in_chans) {
    throw ConfigError(name_ + ": expected an [N, " + std::to_string(o.in_chans) + ", H, W] image batch, got sizes " +
                      c10::str(x.sizes()));
  }
  const Size2 size = {x.size(2), x.size(3)};
  if (o.strict_img_size && size != o.img_size) {
    throw ConfigError(name_ + ": input size " + size_text(size) + " does not match img_size " +
                      size_text(o.img_size) + "; resize the input, build the model with img_size " + size_text(size) +
                      ", or set strict_img_size=false (any multiple of patch_size " + std::to_string(o.patch_size) +
                      "; windows stay those of img_size)");
  }
  if (size[0] % o.patch_size || size[1] % o.patch_size) {
    throw ConfigError(name_ + ": input size " + size_text(size) + " is not a multiple of patch_size " +
                      std::to_string(o.patch_size) + "; resize or pad the input");
  }
}

torch::Tensor SwinTransformerImpl::forward_features(const torch::Tensor& x) {
  check_input(x);
  torch::Tensor y = patch_embed_->forward(x);
  std::int64_t index = 0;  // feature_info: one entry per stage, NHWC here
  for (auto& stage : stages_) y = stage_output(index++, stage->forward(y), StageLayout::nhwc);
  return norm_->forward(y);
}

torch::Tensor SwinTransformerImpl::forward_head(const torch::Tensor& features, bool pre_logits) {
  // timm pools NHWC in place (input_fmt 'NHWC'); the shared head pools NCHW, so the view is permuted: the same mean.
  if (options_.global_pool == layers::PoolType::none) return head_->forward(features, pre_logits);
  return head_->forward(features.permute({0, 3, 1, 2}), pre_logits);
}

std::vector<torch::Tensor> SwinTransformerImpl::forward_intermediates(const torch::Tensor& x,
                                                                     const std::vector<std::int64_t>& indices) {
  const auto wanted = resolve_feature_indices(indices, static_cast<std::int64_t>(stages_.size()));
  if (wanted.empty()) return {};
  check_input(x);
  const std::int64_t last = *std::max_element(wanted.begin(), wanted.end());
  std::vector<torch::Tensor> maps;  // maps[i]: stage i's output, NCHW
  torch::Tensor y = patch_embed_->forward(x);
  for (std::int64_t i = 0; i <= last; ++i) {
    y = stage_output(i, stages_[static_cast<std::size_t>(i)]->forward(y), StageLayout::nhwc);
    maps.push_back(y.permute({0, 3, 1, 2}).contiguous());
  }
  std::vector<torch::Tensor> out;
  out.reserve(wanted.size());
  for (const auto index : wanted) out.push_back(maps[static_cast<std::size_t>(index)]);
  return out;
}

void SwinTransformerImpl::reset_classifier(std::int64_t num_classes) {
  if (num_classes < 0) {
    throw ConfigError(name_ + ": reset_classifier: expected 0 (no classifier) or more classes, got " +
                      std::to_string(num_classes));
  }
  if (num_classes > 0 && options_.global_pool == layers::PoolType::none) {
    throw ConfigError(name_ + ": reset_classifier: a classifier needs global_pool 'avg', this model has '' (got " +
                      std::to_string(num_classes) + " classes); build it with global_pool 'avg'");
  }
  head_->reset(num_classes);
  if (head_->fc) {
    // timm's ClassifierHead.reset: a fresh nn.Linear with PyTorch's default init, where the model lives.
    const auto reference = norm_->weight;
    head_->fc->to(reference.device(), reference.scalar_type());
    head_->fc->train(is_training());
  }
  options_.num_classes = num_classes;
}

}  // namespace autotimm::swin
