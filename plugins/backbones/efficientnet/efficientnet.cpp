#include "efficientnet.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/feature_info.hpp"
#include "autotimm/layers/classifier.hpp"

namespace autotimm::efficientnet {
EfficientNetImpl::EfficientNetImpl(EfficientNetOptions options, PretrainedCfg pretrained_cfg)
    : options_(std::move(options)) {
  name_ = pretrained_cfg.architecture.empty() ? std::string("efficientnet") : pretrained_cfg.architecture;
  validate();
  const auto& o = options_;

  const std::int64_t stem_chs = o.fix_stem ? o.stem_size : round_chs(static_cast<double>(o.stem_size));
  conv_stem_ = AnyConv2d(*this, "conv_stem",
                         {.in_channels = o.in_chans,
                          .out_channels = stem_chs,
                          .kernel_size = {o.stem_kernel_size},
                          .stride = 2,
                          .padding = o.pad_type});
  bn1_ = register_module("bn1", BatchNormAct2d(layers::BatchNorm2dOptions{.num_features = stem_chs,
                                                                          .eps = o.bn_eps,
                                                                          .momentum = o.bn_momentum},
                                               o.act_layer));
  build_blocks(stem_chs);
  const std::int64_t head_chs = blocks_.back().back()->out_channels();

  if (o.head_type == HeadType::efficientnet) {
    num_features_ = head_chs;
    if (o.num_features > 0) {
      conv_head_ = register_module(
          "conv_head", torch::nn::Conv2d(torch::nn::Conv2dOptions(head_chs, o.num_features, 1).bias(false)));
      bn2_ = register_module("bn2", BatchNormAct2d(layers::BatchNorm2dOptions{.num_features = o.num_features,
                                                                              .eps = o.bn_eps,
                                                                              .momentum = o.bn_momentum},
                                                   o.act_layer));
      num_features_ = o.num_features;
    }
    head_hidden_size_ = num_features_;
    auto classifier = layers::create_classifier(num_features_, o.num_classes, o.global_pool, name_);
    global_pool_ = register_module("global_pool", classifier.global_pool);
    if (classifier.fc) classifier_ = register_module("classifier", classifier.fc);
  } else {
    // MobileNetV3: the 1×1 conv runs on the pooled vector, so forward_features ends at the blocks.
    num_features_ = head_chs;
    head_hidden_size_ = o.num_features;
    global_pool_ = register_module(
        "global_pool", layers::SelectAdaptivePool2d(layers::SelectAdaptivePool2dOptions{.pool_type = o.global_pool}));
    const std::int64_t pooled = num_features_ * global_pool_->feature_multiplier();
    conv_head_ = register_module(
        "conv_head", torch::nn::Conv2d(torch::nn::Conv2dOptions(pooled, head_hidden_size_, 1).bias(o.head_bias)));
    if (o.num_classes > 0) {
      classifier_ = register_module("classifier", torch::nn::Linear(head_hidden_size_, o.num_classes));
    }
  }

  init_weights();
  validate_feature_info(feature_info_, name_);
  if (pretrained_cfg.first_conv.empty()) pretrained_cfg.first_conv = "conv_stem";
  if (pretrained_cfg.classifier.empty()) pretrained_cfg.classifier = "classifier";
  set_pretrained_cfg(std::move(pretrained_cfg));
}

std::int64_t EfficientNetImpl::round_chs(double channels) const {
  return round_channels(channels, options_.channel_multiplier, options_.channel_divisor, options_.round_limit);
}

// timm's EfficientNetBuilder: widths rounded, strides turned into dilation past output_stride, drop path rising over
// all blocks, SE widths from the block input or the expanded width, and a feature at the end of every stage after
// which the resolution halves (and at the stem when the first block strides).
void EfficientNetImpl::build_blocks(std::int64_t stem_chs) {
  const auto& o = options_;
  const auto stages = decode_arch_def(o.arch_def, o.depth_multiplier, o.depth_trunc, o.fix_first_last, o.group_size);
  std::size_t total_blocks = 0;
  for (const auto& stage : stages) total_blocks += stage.size();

  std::int64_t in_chs = stem_chs, current_stride = 2, dilation = 1;
  std::size_t block_index = 0;
  if (stages.front().front().stride > 1) {
    feature_info_.push_back({stem_chs, current_stride, "bn1"});
    stage_ends_.push_back(0);
  }
  auto all_stages = torch::nn::ModuleList();
  for (std::size_t s = 0; s < stages.size(); ++s) {
    auto stage_list = torch::nn::ModuleList();
    std::vector<std::shared_ptr<EfficientBlockImpl>> stage_blocks;
    for (std::size_t b = 0; b < stages[s].size(); ++b) {
      const BlockArgs& args = stages[s][b];
      std::int64_t stride = b == 0 ? args.stride : 1;  // only a stage's first block strides
      std::int64_t next_dilation = dilation;
      if (stride > 1) {
        if (current_stride * stride > o.output_stride) {
          next_dilation = dilation * stride;
          stride = 1;
        } else {
          current_stride *= stride;
        }
      }
      BlockContext ctx{.in_chs = in_chs,
                       .out_chs = round_chs(static_cast<double>(args.out_chs)),
                       .force_in_chs = args.force_in_chs > 0 ? round_chs(static_cast<double>(args.force_in_chs)) : 0,
                       .stride = stride,
                       .dilation = dilation,
                       .act = args.act_layer.value_or(o.act_layer),
                       .se = o.se_layer,
                       .pad_type = o.pad_type,
                       .norm = layers::BatchNorm2dOptions{.eps = o.bn_eps, .momentum = o.bn_momentum},
                       .drop_path_rate = o.drop_path_rate * static_cast<double>(block_index) /
                                         static_cast<double>(total_blocks)};
      if (args.type != BlockType::conv_bn_act && args.se_ratio > 0.0) {
        ctx.se_rd_ratio = o.se_from_exp ? args.se_ratio : args.se_ratio / args.exp_ratio;
      }
      dilation = next_dilation;
      auto block = make_block(args, ctx);
      stage_list->push_back(block);
      stage_blocks.push_back(block);
      in_chs = block->out_channels();
      ++block_index;
    }
    const bool last_stage = s + 1 == stages.size();
    if (last_stage || stages[s + 1].front().stride > 1) {
      feature_info_.push_back({in_chs, current_stride, "blocks." + std::to_string(s)});
      stage_ends_.push_back(static_cast<std::int64_t>(s) + 1);
    }
    all_stages->push_back(stage_list);
    blocks_.push_back(std::move(stage_blocks));
  }
  register_module("blocks", all_stages);
}

void EfficientNetImpl::validate() const {
  const auto& o = options_;
  const auto fail = [&](const std::string& field, const std::string& expected, const std::string& got,
                        const std::string& advice = {}) { fail_option(name_, field, expected, got, advice); };
  if (o.arch_def.empty()) fail("arch_def", "at least one stage of block strings", "none");
  if (o.depth_multiplier.size() != 1 && o.depth_multiplier.size() != o.arch_def.size()) {
    fail("depth_multiplier", "one value or one per stage (" + std::to_string(o.arch_def.size()) + ")",
         std::to_string(o.depth_multiplier.size()) + " values");
  }
  for (const double m : o.depth_multiplier) {
    if (!(m > 0.0) || !std::isfinite(m)) fail("depth_multiplier", "values > 0", shown(m));
  }
  if (!(o.channel_multiplier > 0.0) || !std::isfinite(o.channel_multiplier)) {
    fail("channel_multiplier", "a value > 0", shown(o.channel_multiplier));
  }
  if (o.channel_divisor < 1) fail("channel_divisor", "at least 1", std::to_string(o.channel_divisor));
  if (o.in_chans < 1) fail("in_chans", "at least 1", std::to_string(o.in_chans));
  if (o.num_classes < 0) fail("num_classes", "0 (no classifier) or more", std::to_string(o.num_classes));
  if (o.stem_size < 1) fail("stem_size", "at least 1", std::to_string(o.stem_size));
  if (o.stem_kernel_size < 1) fail("stem_kernel_size", "at least 1", std::to_string(o.stem_kernel_size));
  if (o.head_type == HeadType::mobilenetv3 ? o.num_features < 1 : o.num_features < 0) {
    fail("num_features",
         o.head_type == HeadType::mobilenetv3 ? "at least 1 (the head's conv width)" : "0 (no conv_head) or more",
         std::to_string(o.num_features));
  }
  if (o.output_stride != 8 && o.output_stride != 16 && o.output_stride != 32) {
    fail("output_stride", "8, 16 or 32", std::to_string(o.output_stride));
  }
  if (!(o.bn_eps > 0.0)) fail("bn_eps", "a value > 0", shown(o.bn_eps));
  if (o.bn_momentum && !(*o.bn_momentum >= 0.0 && *o.bn_momentum <= 1.0)) {
    fail("bn_momentum", "a value in [0, 1] (or unset: cumulative average)", shown(*o.bn_momentum));
  }
  const auto probability = [&](double value, const char* field) {
    if (!(value >= 0.0 && value < 1.0)) fail(field, "a probability in [0, 1)", shown(value));
  };
  probability(o.drop_rate, "drop_rate");
  probability(o.drop_path_rate, "drop_path_rate");
  if (o.global_pool == layers::PoolType::none && o.num_classes > 0) {
    fail("global_pool", "a pool type (avg, max, avgmax, catavgmax) when num_classes > 0",
         "'' (no pooling) with num_classes=" + std::to_string(o.num_classes),
         "set num_classes=0 to get unpooled maps from forward_head");
  }
}

void EfficientNetImpl::init_weights() {
  // timm's _init_weight_goog: conv weights N(0, sqrt(2 / fan_out)) with fan_out per group, Linear U(±1/sqrt(out)),
  // biases zero; BatchNorm keeps ones and zeros.
  torch::NoGradGuard no_grad;
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    if (auto* conv = item.value()->as<torch::nn::Conv2dImpl>()) {
      const auto& k = conv->options.kernel_size();
      const double fan_out =
          static_cast<double>((*k)[0] * (*k)[1] * conv->options.out_channels() / conv->options.groups());
      conv->weight.normal_(0.0, std::sqrt(2.0 / fan_out));
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto* fc = item.value()->as<torch::nn::LinearImpl>()) {
      const double range = 1.0 / std::sqrt(static_cast<double>(fc->weight.size(0)));
      fc->weight.uniform_(-range, range);
      if (fc->bias.defined()) fc->bias.zero_();
    }
  }
}

torch::Tensor EfficientNetImpl::forward_features(const torch::Tensor& x) {
  torch::Tensor y = report_stages_after(0, bn1_->forward(conv_stem_(x)));
  for (std::size_t s = 0; s < blocks_.size(); ++s) {
    for (auto& block : blocks_[s]) y = block->forward(y);
    y = report_stages_after(static_cast<std::int64_t>(s) + 1, y);
  }
  if (options_.head_type == HeadType::efficientnet && conv_head_) y = bn2_->forward(conv_head_->forward(y));
  return y;
}

torch::Tensor EfficientNetImpl::report_stages_after(std::int64_t stages_run, const torch::Tensor& y) const {
  for (std::size_t index = 0; index < stage_ends_.size(); ++index) {
    if (stage_ends_[index] == stages_run) stage_output(static_cast<std::int64_t>(index), y);
  }
  return y;
}

torch::Tensor EfficientNetImpl::forward_head(const torch::Tensor& features, bool pre_logits) {
  torch::Tensor y = global_pool_->forward(features);
  if (options_.head_type == HeadType::mobilenetv3) {
    y = conv_head_->forward(y);
    y = layers::apply_activation_(options_.act_layer, y);
    if (!global_pool_->is_identity()) y = y.flatten(1);
    if (options_.drop_rate > 0.0) y = torch::dropout(y, options_.drop_rate, is_training());
    if (pre_logits) return y;
  } else {
    if (options_.drop_rate > 0.0) y = torch::dropout(y, options_.drop_rate, is_training());
    if (pre_logits) return y;
  }
  return classifier_ ? classifier_->forward(y) : y;
}

std::vector<torch::Tensor> EfficientNetImpl::forward_intermediates(const torch::Tensor& x,
                                                                   const std::vector<std::int64_t>& indices) {
  const auto wanted = resolve_feature_indices(indices, static_cast<std::int64_t>(feature_info_.size()));
  if (wanted.empty()) return {};
  std::vector<std::int64_t> stages_wanted;
  for (const auto index : wanted) stages_wanted.push_back(stage_ends_[static_cast<std::size_t>(index)]);
  const std::int64_t last = *std::max_element(stages_wanted.begin(), stages_wanted.end());

  std::vector<torch::Tensor> after;  // after[s]: the map once s stages have run (0: the stem)
  torch::Tensor y = report_stages_after(0, bn1_->forward(conv_stem_(x)));
  after.push_back(y);
  for (std::int64_t s = 0; s < last; ++s) {
    for (auto& block : blocks_[static_cast<std::size_t>(s)]) y = block->forward(y);
    after.push_back(report_stages_after(s + 1, y));
  }
  std::vector<torch::Tensor> out;
  out.reserve(stages_wanted.size());
  for (const auto stage : stages_wanted) out.push_back(after[static_cast<std::size_t>(stage)]);
  return out;
}

void EfficientNetImpl::reset_classifier(std::int64_t num_classes) {
  if (num_classes < 0) {
    throw ConfigError(name_ + ": reset_classifier: expected 0 (no classifier) or more classes, got " +
                      std::to_string(num_classes));
  }
  if (classifier_) unregister_module("classifier");
  classifier_ = nullptr;
  if (num_classes > 0) {
    if (options_.head_type == HeadType::efficientnet) {
      auto classifier = layers::create_classifier(num_features_, num_classes, options_.global_pool, name_);
      classifier_ = classifier.fc;
    } else {
      classifier_ = torch::nn::Linear(head_hidden_size_, num_classes);
    }
    // The new layer joins the model where it lives.
    const auto reference = bn1_->weight;
    classifier_->to(reference.device(), reference.scalar_type());
    register_module("classifier", classifier_);
  }
  options_.num_classes = num_classes;
}

}  // namespace autotimm::efficientnet
