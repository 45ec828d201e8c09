#include "regnet.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/feature_info.hpp"
#include "autotimm/layers/helpers.hpp"

namespace autotimm::regnet {
namespace {

constexpr std::size_t kStages = 4;  // timm asserts four stages: s1 … s4

// Python's round() and numpy's np.round: to the nearest integer, halves to even.
double round_half_even(double value) { return std::nearbyint(value); }

// numpy's linspace(0, stop, count) in float64: i · (stop / (count − 1)), the last value exactly `stop`.
std::vector<double> linspace(double stop, std::int64_t count) {
  std::vector<double> values(static_cast<std::size_t>(count), 0.0);
  if (count > 1) {
    const double step = stop / static_cast<double>(count - 1);
    for (std::int64_t i = 0; i < count; ++i) values[static_cast<std::size_t>(i)] = static_cast<double>(i) * step;
    values.back() = stop;
  }
  return values;
}

}  // namespace

std::vector<std::int64_t> generate_regnet_widths(double wa, std::int64_t w0, double wm, std::int64_t depth,
                                                 std::int64_t quant) {
  // Continuous widths w0 + wa·j, snapped to the nearest power of wm times w0, then to a multiple of quant.
  std::vector<std::int64_t> widths;
  widths.reserve(static_cast<std::size_t>(std::max<std::int64_t>(depth, 0)));
  const double initial = static_cast<double>(w0);
  for (std::int64_t j = 0; j < depth; ++j) {
    const double continuous = static_cast<double>(j) * wa + initial;
    const double exponent = round_half_even(std::log(continuous / initial) / std::log(wm));
    const double width = round_half_even(initial * std::pow(wm, exponent) / static_cast<double>(quant)) *
                         static_cast<double>(quant);
    widths.push_back(static_cast<std::int64_t>(width));
  }
  return widths;
}

std::vector<RegNetStage> regnet_stages(const RegNetOptions& o, const std::string& name) {
  if (o.depth < 1) fail_option(name, "depth", "at least 1 block", std::to_string(o.depth));
  if (o.w0 <= 0 || o.w0 % 8 != 0) {
    fail_option(name, "w0", "a positive multiple of 8", std::to_string(o.w0), "timm's generate_regnet asserts it");
  }
  if (!(o.wa >= 0.0) || !std::isfinite(o.wa)) fail_option(name, "wa", "a finite slope >= 0", shown(o.wa));
  if (!(o.wm > 1.0) || !std::isfinite(o.wm)) fail_option(name, "wm", "a finite multiplier > 1", shown(o.wm));
  if (o.group_size < 1) fail_option(name, "group_size", "at least 1 channel per group", std::to_string(o.group_size));
  if (!(o.bottle_ratio > 0.0) || !std::isfinite(o.bottle_ratio)) {
    fail_option(name, "bottle_ratio", "a finite ratio > 0", shown(o.bottle_ratio));
  }
  if (!(o.group_min_ratio >= 0.0 && o.group_min_ratio < 1.0)) {
    fail_option(name, "group_min_ratio", "0 (timm's rounding) or a ratio in (0, 1) (torchvision's)", shown(o.group_min_ratio));
  }
  if (o.output_stride != 8 && o.output_stride != 16 && o.output_stride != 32) {
    fail_option(name, "output_stride", "8, 16 or 32", std::to_string(o.output_stride));
  }

  // Stages: the distinct block widths (np.unique: sorted), each with its block count.
  std::map<std::int64_t, std::int64_t> counts;
  for (const auto width : generate_regnet_widths(o.wa, o.w0, o.wm, o.depth)) ++counts[width];
  std::vector<std::int64_t> widths, depths;
  for (const auto& [width, count] : counts) {
    widths.push_back(width);
    depths.push_back(count);
  }
  if (widths.size() != kStages) {
    throw ConfigError(name + ": options 'w0', 'wa', 'wm', 'depth': expected a design giving exactly 4 stages, got " +
                      std::to_string(widths.size()) + " (stage widths " + shown(widths) +
                      "); RegNet builds stages s1 to s4 (timm asserts the same)");
  }

  // Strides, then dilation once output_stride is reached; drop path rising linearly over all blocks.
  const auto rates = linspace(o.drop_path_rate, o.depth);
  std::vector<RegNetStage> stages(kStages);
  std::int64_t net_stride = 2, dilation = 1, block = 0;
  for (std::size_t i = 0; i < kStages; ++i) {
    RegNetStage& stage = stages[i];
    if (net_stride >= o.output_stride) {
      dilation *= 2;
      stage.stride = 1;
    } else {
      stage.stride = 2;
      net_stride *= 2;
    }
    stage.dilation = dilation;
    stage.depth = depths[i];
    stage.bottle_ratio = o.bottle_ratio;
    for (std::int64_t b = 0; b < stage.depth; ++b) {
      stage.drop_path_rates.push_back(rates[static_cast<std::size_t>(block++)]);
    }

    // adjust_widths_groups_comp: the bottleneck width rounded to a multiple of the (capped) group width.
    const auto bottleneck = static_cast<std::int64_t>(static_cast<double>(widths[i]) * o.bottle_ratio);
    const std::int64_t group = std::min(o.group_size, bottleneck);
    if (group < 1) {
      fail_option(name, "bottle_ratio", "a ratio giving a bottleneck of at least 1 channel", shown(o.bottle_ratio));
    }
    std::int64_t rounded = 0;
    if (o.group_min_ratio > 0.0) {
      rounded = layers::make_divisible(static_cast<double>(bottleneck), group, std::nullopt, 0.9);  // torchvision's
    } else {
      // timm's quantize_float.
      const double ratio = static_cast<double>(bottleneck) / static_cast<double>(group);
      rounded = static_cast<std::int64_t>(round_half_even(ratio) * static_cast<double>(group));
    }
    stage.out_chs = static_cast<std::int64_t>(static_cast<double>(rounded) / o.bottle_ratio);
    stage.group_size = group;
    stage.bottleneck_chs =
        static_cast<std::int64_t>(round_half_even(static_cast<double>(stage.out_chs) * o.bottle_ratio));
    stage.groups = stage.bottleneck_chs / group;
    if (stage.out_chs < 1 || stage.groups < 1) {
      fail_option(name, "group_size", "a group width that fits stage s" + std::to_string(i + 1) + " (" +
                                   std::to_string(widths[i]) + " channels)",
           std::to_string(o.group_size));
    }
  }
  return stages;
}

RegNetImpl::RegNetImpl(RegNetOptions options, PretrainedCfg pretrained_cfg) : options_(std::move(options)) {
  name_ = pretrained_cfg.architecture.empty() ? std::string("regnet") : pretrained_cfg.architecture;
  validate();
  stage_specs_ = regnet_stages(options_, name_);
  const auto& o = options_;
  const NormSpec norm{.layer = o.norm_layer, .group_size = o.norm_group_size};

  // Stem: a 3×3/2 conv + norm + act (`stem.conv`, `stem.bn`), or a plain conv (`stem`) in pre-activation models.
  if (o.preact) {
    stem_ = torch::nn::AnyModule(torch::nn::Conv2d(
        torch::nn::Conv2dOptions(o.in_chans, o.stem_width, 3).stride(2).padding(1).bias(false)));
  } else {
    stem_ = torch::nn::AnyModule(ConvNormAct(ConvNormActOptions{.in_channels = o.in_chans,
                                                                .out_channels = o.stem_width,
                                                                .kernel_size = 3,
                                                                .stride = 2,
                                                                .norm = norm,
                                                                .act_layer = o.act_layer},
                                             name_ + " stem"));
  }
  register_module("stem", stem_.ptr());
  feature_info_.push_back({o.stem_width, 2, "stem"});

  // Stages s1 … s4.
  std::int64_t previous = o.stem_width, stride = 2;
  for (std::size_t i = 0; i < stage_specs_.size(); ++i) {
    const RegNetStage& spec = stage_specs_[i];
    const std::string stage_name = "s" + std::to_string(i + 1);
    StageOptions stage{.depth = spec.depth,
                       .in_chs = previous,
                       .stride = spec.stride,
                       .dilation = spec.dilation,
                       .preact = o.preact,
                       .drop_path_rates = spec.drop_path_rates,
                       .block = BlockOptions{.out_chs = spec.out_chs,
                                             .bottle_ratio = spec.bottle_ratio,
                                             .group_size = spec.group_size,
                                             .se_ratio = o.se_ratio,
                                             .downsample = o.downsample,
                                             .linear_out = o.linear_out,
                                             .act_layer = o.act_layer,
                                             .norm = norm}};
    stages_.push_back(RegStage(stage, name_ + " " + stage_name));
    register_module(stage_name, stages_.back());
    previous = spec.out_chs;
    stride *= spec.stride;
    feature_info_.push_back({previous, stride, stage_name});
  }

  // final_conv: a 1×1 ConvNormAct to num_features, else the activation (linear_out / preact), else the identity.
  if (o.num_features > 0) {
    final_conv_ = torch::nn::AnyModule(ConvNormAct(ConvNormActOptions{.in_channels = previous,
                                                                      .out_channels = o.num_features,
                                                                      .kernel_size = 1,
                                                                      .norm = norm,
                                                                      .act_layer = o.act_layer},
                                                   name_ + " final_conv"));
    num_features_ = o.num_features;
  } else if (o.linear_out || o.preact) {
    final_conv_ =
        torch::nn::AnyModule(layers::ActivationLayer(layers::ActivationLayerOptions{.activation = o.act_layer}));
    num_features_ = previous;
  } else {
    final_conv_ = torch::nn::AnyModule(torch::nn::Identity());
    num_features_ = previous;
  }
  register_module("final_conv", final_conv_.ptr());

  head_ = register_module("head", layers::ClassifierHead(layers::ClassifierHeadOptions{.in_features = num_features_,
                                                                                       .num_classes = o.num_classes,
                                                                                       .pool_type = o.global_pool,
                                                                                       .drop_rate = o.drop_rate}));

  init_weights();
  validate_feature_info(feature_info_, name_);
  if (pretrained_cfg.first_conv.empty()) pretrained_cfg.first_conv = o.preact ? "stem" : "stem.conv";
  if (pretrained_cfg.classifier.empty()) pretrained_cfg.classifier = "head.fc";
  set_pretrained_cfg(std::move(pretrained_cfg));
}

void RegNetImpl::validate() const {
  const auto& o = options_;
  if (o.in_chans < 1) fail_option(name_, "in_chans", "at least 1", std::to_string(o.in_chans));
  if (o.num_classes < 0) fail_option(name_, "num_classes", "0 (no classifier) or more", std::to_string(o.num_classes));
  if (o.stem_width < 1) fail_option(name_, "stem_width", "at least 1", std::to_string(o.stem_width));
  if (o.num_features < 0) {
    fail_option(name_, "num_features", "0 (no final_conv) or a width of at least 1", std::to_string(o.num_features));
  }
  if (!(o.se_ratio >= 0.0) || !std::isfinite(o.se_ratio)) {
    fail_option(name_, "se_ratio", "0 (no SE) or a finite ratio > 0", shown(o.se_ratio));
  }
  if (o.norm_group_size && *o.norm_group_size < 1) {
    fail_option(name_, "norm_group_size", "at least 1 channel per group (or unset)", std::to_string(*o.norm_group_size));
  }
  const auto probability = [&](double value, const char* field) {
    if (!(value >= 0.0 && value < 1.0)) fail_option(name_, field, "a probability in [0, 1)", shown(value));
  };
  probability(o.drop_rate, "drop_rate");
  probability(o.drop_path_rate, "drop_path_rate");
  if (o.global_pool == layers::PoolType::none && o.num_classes > 0) {
    fail_option(name_, "global_pool", "a pool type (avg, max, avgmax, catavgmax) when num_classes > 0",
         "'' (no pooling) with num_classes=" + std::to_string(o.num_classes),
         "set num_classes=0 to get unpooled maps from forward_head");
  }
}

void RegNetImpl::init_weights() {
  // timm's _init_weights: conv weights from N(0, sqrt(2 / fan_out)) with fan_out = k·k·out / groups, linear weights
  // from N(0, 0.01), biases zero, norms at ones/zeros (their own defaults); then zero_init_last.
  torch::NoGradGuard no_grad;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2dImpl>()) {
      const auto& c = conv->options;
      const std::int64_t fan_out = c.kernel_size()->at(0) * c.kernel_size()->at(1) * c.out_channels() / c.groups();
      conv->weight.normal_(0.0, std::sqrt(2.0 / static_cast<double>(fan_out)));
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto* fc = module->as<torch::nn::LinearImpl>()) {
      fc->weight.normal_(0.0, 0.01);
      if (fc->bias.defined()) fc->bias.zero_();
    }
  }
  if (options_.zero_init_last) {
    for (auto& stage : stages_) stage->zero_init_last();
  }
}

torch::Tensor RegNetImpl::forward_features(const torch::Tensor& x) {
  torch::Tensor y = stage_output(0, stem_.forward(x));
  std::int64_t index = 1;  // feature_info: the stem, then one entry per stage
  for (auto& stage : stages_) y = stage_output(index++, stage->forward(y));
  return final_conv_.forward(y);
}

torch::Tensor RegNetImpl::forward_head(const torch::Tensor& features, bool pre_logits) {
  return head_->forward(features, pre_logits);
}

std::vector<torch::Tensor> RegNetImpl::forward_intermediates(const torch::Tensor& x,
                                                             const std::vector<std::int64_t>& indices) {
  const auto wanted = resolve_feature_indices(indices, static_cast<std::int64_t>(feature_info_.size()));
  if (wanted.empty()) return {};
  const std::int64_t last = *std::max_element(wanted.begin(), wanted.end());
  std::vector<torch::Tensor> maps;  // maps[0] is the stem's output, maps[i] stage i's
  torch::Tensor y = stage_output(0, stem_.forward(x));
  maps.push_back(y);
  for (std::int64_t i = 0; i < last; ++i) {
    y = stage_output(i + 1, stages_[static_cast<std::size_t>(i)]->forward(y));
    maps.push_back(y);
  }
  std::vector<torch::Tensor> out;
  out.reserve(wanted.size());
  for (const auto index : wanted) out.push_back(maps[static_cast<std::size_t>(index)]);
  return out;
}

void RegNetImpl::reset_classifier(std::int64_t num_classes) {
  if (num_classes < 0) {
    throw ConfigError(name_ + ": reset_classifier: expected 0 (no classifier) or more classes, got " +
                      std::to_string(num_classes));
  }
  head_->reset(num_classes);
  if (head_->fc) {
    // The new layer joins the model where it lives (timm leaves it on the default device).
    const auto reference = stem_.ptr()->parameters().front();
    head_->fc->to(reference.device(), reference.scalar_type());
  }
  options_.num_classes = num_classes;
}

}  // namespace autotimm::regnet
