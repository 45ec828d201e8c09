#include "convnext.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/feature_info.hpp"
#include "autotimm/layers/helpers.hpp"
#include "autotimm/layers/weight_init.hpp"

namespace autotimm::convnext {
namespace {

constexpr std::size_t kStages = 4;

torch::nn::Conv2d stem_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                            std::int64_t padding, bool bias) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(bias));
}

}  // namespace

std::string_view to_string(StemType type) noexcept {
  switch (type) {
    case StemType::patch:
      return "patch";
    case StemType::overlap:
      return "overlap";
    case StemType::overlap_tiered:
      return "overlap_tiered";
    case StemType::overlap_act:
      return "overlap_act";
  }
  return "?";
}

ConvNeXtImpl::ConvNeXtImpl(ConvNeXtOptions options, PretrainedCfg pretrained_cfg) : options_(std::move(options)) {
  name_ = pretrained_cfg.architecture.empty() ? std::string("convnext") : pretrained_cfg.architecture;
  if (options_.kernel_sizes.size() == 1) options_.kernel_sizes.assign(kStages, options_.kernel_sizes.front());
  validate();
  const auto& o = options_;
  const double eps = norm_eps();

  // Stem: a patchify conv + norm, or two overlapping 3×3/2 convs (+ act) + norm. Both reduce by 4 for patch_size 4.
  stem_ = torch::nn::Sequential();
  std::int64_t stem_stride = 4;
  if (o.stem_type == StemType::patch) {
    stem_->push_back(stem_conv(o.in_chans, o.dims[0], o.patch_size, o.patch_size, 0, o.conv_bias));
    stem_stride = o.patch_size;
  } else {
    const std::int64_t mid =
        o.stem_type == StemType::overlap_tiered ? layers::make_divisible(o.dims[0] / 2) : o.dims[0];
    stem_->push_back(stem_conv(o.in_chans, mid, 3, 2, 1, o.conv_bias));
    if (o.stem_type == StemType::overlap_act)
      stem_->push_back(layers::ActivationLayer(layers::ActivationLayerOptions{.activation = o.act_layer}));
    stem_->push_back(stem_conv(mid, o.dims[0], 3, 2, 1, o.conv_bias));
  }
  stem_->push_back(layers::LayerNorm2d(layers::LayerNorm2dOptions{.num_channels = o.dims[0], .eps = eps}));
  register_module("stem", stem_);

  // Stages: stochastic depth rises linearly over all blocks (timm's float32 linspace); past output_stride, stages
  // dilate instead of striding.
  const std::int64_t total_blocks = std::accumulate(o.depths.begin(), o.depths.end(), std::int64_t{0});
  const auto rates = torch::linspace(0.0, o.drop_path_rate, total_blocks, torch::kFloat32);
  auto stages = torch::nn::Sequential();
  std::int64_t previous = o.dims[0], current_stride = stem_stride, dilation = 1, block_index = 0;
  for (std::size_t i = 0; i < kStages; ++i) {
    std::int64_t stride = current_stride == 2 || i > 0 ? 2 : 1;
    if (current_stride >= o.output_stride && stride > 1) {
      dilation *= stride;
      stride = 1;
    }
    current_stride *= stride;
    StageOptions stage{.in_channels = previous,
                       .out_channels = o.dims[i],
                       .kernel_size = o.kernel_sizes[i],
                       .stride = stride,
                       .first_dilation = dilation == 1 || dilation == 2 ? 1 : 2,
                       .dilation = dilation,
                       .block = BlockOptions{.conv_mlp = o.conv_mlp,
                                             .conv_bias = o.conv_bias,
                                             .use_grn = o.use_grn,
                                             .ls_init_value = o.ls_init_value,
                                             .act_layer = o.act_layer,
                                             .norm_eps = eps}};
    for (std::int64_t b = 0; b < o.depths[i]; ++b) stage.drop_path_rates.push_back(rates[block_index++].item<double>());
    stages_.push_back(ConvNeXtStage(stage));
    stages->push_back(stages_.back());
    previous = o.dims[i];
    feature_info_.push_back({previous, current_stride, "stages." + std::to_string(i)});
  }
  register_module("stages", stages);

  // Head: pool → norm → [hidden fc + GELU] → fc (the FB weights' order), or norm_pre → pool → fc ("_hnf").
  if (o.head_norm_first) {
    norm_pre_ = register_module("norm_pre",
                                layers::LayerNorm2d(layers::LayerNorm2dOptions{.num_channels = previous, .eps = eps}));
    classifier_head_ =
        register_module("head", layers::ClassifierHead(layers::ClassifierHeadOptions{.in_features = previous,
                                                                                     .num_classes = o.num_classes,
                                                                                     .pool_type = o.global_pool,
                                                                                     .drop_rate = o.drop_rate}));
  } else {
    norm_mlp_head_ = register_module(
        "head", layers::NormMlpClassifierHead(layers::NormMlpClassifierHeadOptions{.in_features = previous,
                                                                                   .num_classes = o.num_classes,
                                                                                   .hidden_size = o.head_hidden_size,
                                                                                   .pool_type = o.global_pool,
                                                                                   .drop_rate = o.drop_rate,
                                                                                   .norm_eps = eps}));
  }

  init_weights();
  validate_feature_info(feature_info_, name_);
  if (pretrained_cfg.first_conv.empty()) pretrained_cfg.first_conv = "stem.0";
  if (pretrained_cfg.classifier.empty()) pretrained_cfg.classifier = "head.fc";
  set_pretrained_cfg(std::move(pretrained_cfg));
}

void ConvNeXtImpl::validate() const {
  const auto& o = options_;
  const auto fail = [&](const std::string& field, const std::string& expected, const std::string& got,
                        const std::string& advice = {}) { fail_option(name_, field, expected, got, advice); };
  const auto four_positive = [](const std::vector<std::int64_t>& values) {
    return values.size() == kStages && std::all_of(values.begin(), values.end(), [](auto v) { return v >= 1; });
  };
  if (!four_positive(o.depths)) fail("depths", "4 block counts of at least 1", shown(o.depths));
  if (!four_positive(o.dims)) fail("dims", "4 widths of at least 1", shown(o.dims));
  if (o.kernel_sizes.size() != kStages ||
      !std::all_of(o.kernel_sizes.begin(), o.kernel_sizes.end(), [](auto k) { return k >= 1 && k % 2 == 1; })) {
    fail("kernel_sizes", "one odd kernel size, or 4 (one per stage)", shown(o.kernel_sizes),
         "even depthwise kernels would shrink the maps");
  }
  if (o.num_classes < 0) fail("num_classes", "0 (no classifier) or more", std::to_string(o.num_classes));
  if (o.in_chans < 1) fail("in_chans", "at least 1", std::to_string(o.in_chans));
  if (o.output_stride != 8 && o.output_stride != 16 && o.output_stride != 32) {
    fail("output_stride", "8, 16 or 32", std::to_string(o.output_stride));
  }
  if (o.patch_size < 1) fail("patch_size", "at least 1", std::to_string(o.patch_size));
  if (o.stem_type != StemType::patch && o.patch_size != 4) {
    fail("patch_size", "4 (the default) with stem_type '" + std::string(to_string(o.stem_type)) + "'",
         std::to_string(o.patch_size), "patch_size only applies to stem_type 'patch'");
  }
  if (o.ls_init_value && !std::isfinite(*o.ls_init_value)) fail("ls_init_value", "a finite number", "non-finite");
  if (!std::isfinite(o.head_init_scale)) fail("head_init_scale", "a finite number", shown(o.head_init_scale));
  if (o.norm_eps && !(*o.norm_eps > 0.0)) fail("norm_eps", "a value > 0", shown(*o.norm_eps));
  if (o.head_hidden_size && *o.head_hidden_size < 1) {
    fail("head_hidden_size", "at least 1 (or unset)", std::to_string(*o.head_hidden_size));
  }
  if (o.head_norm_first && o.head_hidden_size) {
    fail("head_hidden_size", "unset with head_norm_first", std::to_string(*o.head_hidden_size),
         "the hidden head layer exists only in the pool → norm → fc head (head_norm_first false)");
  }
  const auto probability = [&](double value, const char* field) {
    if (!(value >= 0.0 && value < 1.0)) fail(field, "a probability in [0, 1)", shown(value));
  };
  probability(o.drop_rate, "drop_rate");
  probability(o.drop_path_rate, "drop_path_rate");
  if (o.global_pool == layers::PoolType::catavgmax && !o.head_norm_first) {
    fail("global_pool", "avg, max, avgmax or '' for the pool → norm → fc head", "'catavgmax'",
         "head.norm is dims[3] wide and catavgmax pools twice as many channels (timm fails the same way)");
  }
  if (o.global_pool == layers::PoolType::none && o.num_classes > 0 && o.head_norm_first) {
    fail("global_pool", "a pool type (avg, max, avgmax, catavgmax) when num_classes > 0 with head_norm_first",
         "'' (no pooling) with num_classes=" + std::to_string(o.num_classes),
         "set num_classes=0 to get unpooled maps from forward_head");
  }
}

void ConvNeXtImpl::init_weights() {
  // timm's _init_weights: every conv and linear weight from a truncated N(0, 0.02), biases zero; the head's linear
  // layers then scaled by head_init_scale.
  torch::NoGradGuard no_grad;
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    const auto& module = item.value();
    torch::Tensor weight, bias;
    bool linear = false;
    if (auto* conv = module->as<torch::nn::Conv2dImpl>()) {
      weight = conv->weight;
      bias = conv->bias;
    } else if (auto* fc = module->as<torch::nn::LinearImpl>()) {
      weight = fc->weight;
      bias = fc->bias;
      linear = true;
    } else {
      continue;
    }
    layers::trunc_normal_(weight, 0.0, 0.02);
    if (bias.defined()) bias.zero_();
    if (linear && item.key().find("head.") != std::string::npos) {
      weight.mul_(options_.head_init_scale);
      bias.mul_(options_.head_init_scale);
    }
  }
}

std::int64_t ConvNeXtImpl::head_hidden_size() const {
  return norm_mlp_head_ ? norm_mlp_head_->num_pre_logits_features() : num_features();
}

torch::Tensor ConvNeXtImpl::forward_features(const torch::Tensor& x) {
  torch::Tensor y = stem_->forward(x);
  std::int64_t index = 0;  // feature_info: one entry per stage
  for (auto& stage : stages_) y = stage_output(index++, stage->forward(y));
  if (norm_pre_) y = norm_pre_->forward(y);
  return y;
}

torch::Tensor ConvNeXtImpl::forward_head(const torch::Tensor& features, bool pre_logits) {
  if (classifier_head_) return classifier_head_->forward(features, pre_logits);
  return norm_mlp_head_->forward(features, pre_logits);
}

std::vector<torch::Tensor> ConvNeXtImpl::forward_intermediates(const torch::Tensor& x,
                                                               const std::vector<std::int64_t>& indices) {
  const auto wanted = resolve_feature_indices(indices, static_cast<std::int64_t>(stages_.size()));
  if (wanted.empty()) return {};
  const std::int64_t last = *std::max_element(wanted.begin(), wanted.end());
  std::vector<torch::Tensor> maps;  // maps[i] is stage i's output
  torch::Tensor y = stem_->forward(x);
  for (std::int64_t i = 0; i <= last; ++i) {
    y = stage_output(i, stages_[static_cast<std::size_t>(i)]->forward(y));
    maps.push_back(y);
  }
  std::vector<torch::Tensor> out;
  out.reserve(wanted.size());
  for (const auto index : wanted) out.push_back(maps[static_cast<std::size_t>(index)]);
  return out;
}

void ConvNeXtImpl::reset_classifier(std::int64_t num_classes) {
  if (num_classes < 0) {
    throw ConfigError(name_ + ": reset_classifier: expected 0 (no classifier) or more classes, got " +
                      std::to_string(num_classes));
  }
  const auto reference = stem_->parameters().front();
  if (classifier_head_) {
    classifier_head_->reset(num_classes);
    if (classifier_head_->fc) classifier_head_->fc->to(reference.device(), reference.scalar_type());
  } else {
    norm_mlp_head_->reset(num_classes);  // places the new fc beside head.norm
  }
  options_.num_classes = num_classes;
}

}  // namespace autotimm::convnext
