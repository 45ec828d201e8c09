#include "resnet.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/feature_info.hpp"
#include "autotimm/layers/classifier.hpp"

namespace autotimm::resnet {
namespace {

constexpr std::size_t kStages = 4;
constexpr std::int64_t kStemChannels = 64;  // the single 7×7 stem is 64 wide whatever stem_width says (as timm)

torch::nn::Conv2d stem_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                            std::int64_t padding) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

}  // namespace

ResNetImpl::ResNetImpl(ResNetOptions options, PretrainedCfg pretrained_cfg) : options_(std::move(options)) {
  name_ = pretrained_cfg.architecture.empty() ? std::string("resnet") : pretrained_cfg.architecture;
  validate();
  const auto& o = options_;

  // Stem: conv1 (a 7×7 conv, or three 3×3 convs in a Sequential) → bn1 → act1, then the stem pool "maxpool".
  const bool deep_stem = o.stem_type != StemType::single;
  std::int64_t inplanes = deep_stem ? o.stem_width * 2 : kStemChannels;
  if (deep_stem) {
    const std::int64_t first = o.stem_type == StemType::deep_tiered ? 3 * (o.stem_width / 4) : o.stem_width;
    conv1_ = torch::nn::AnyModule(
        make_deep_stem(o.in_chans, first, o.stem_width, inplanes, o.norm_layer, o.act_layer, name_ + " conv1"));
  } else {
    conv1_ = torch::nn::AnyModule(stem_conv(o.in_chans, inplanes, 7, 2, 3));
  }
  register_module("conv1", conv1_.ptr());
  bn1_ = make_norm(o.norm_layer, inplanes, name_ + " bn1");
  register_module("bn1", bn1_.ptr());
  feature_info_.push_back({inplanes, 2, "act1"});

  if (o.replace_stem_pool) {
    const bool aa = o.aa_layer != layers::AntiAliasType::none;
    Chain pool;
    pool->push_back(torch::nn::AnyModule(stem_conv(inplanes, inplanes, 3, aa ? 1 : 2, 1)));
    if (aa) pool->push_back(layers::create_aa(o.aa_layer, inplanes, 2));
    pool->push_back(make_norm(o.norm_layer, inplanes, name_ + " maxpool"));
    pool->push_back(torch::nn::AnyModule(
        layers::ActivationLayer(layers::ActivationLayerOptions{.activation = o.act_layer, .inplace = true})));
    maxpool_ = torch::nn::AnyModule(pool);
  } else if (o.aa_layer == layers::AntiAliasType::avgpool) {
    maxpool_ = torch::nn::AnyModule(torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(2)));
  } else if (o.aa_layer != layers::AntiAliasType::none) {
    Chain pool;
    pool->push_back(torch::nn::AnyModule(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(1).padding(1))));
    pool->push_back(layers::create_aa(o.aa_layer, inplanes, 2));
    maxpool_ = torch::nn::AnyModule(pool);
  } else {
    maxpool_ = torch::nn::AnyModule(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
  }
  register_module("maxpool", maxpool_.ptr());

  // Stages layer1 … layer4, as timm's make_blocks: past output_stride, stages dilate instead of striding.
  const std::int64_t expansion = block_expansion(o.block);
  const std::int64_t total_blocks = std::accumulate(o.layers.begin(), o.layers.end(), std::int64_t{0});
  std::int64_t net_stride = 4, dilation = 1, previous_dilation = 1, block_index = 0;
  for (std::size_t stage_index = 0; stage_index < kStages; ++stage_index) {
    const std::string stage_name = "layer" + std::to_string(stage_index + 1);
    const std::int64_t planes = o.channels[stage_index];
    const std::int64_t out_channels = planes * expansion;
    std::int64_t stride = stage_index == 0 ? 1 : 2;
    if (net_stride >= o.output_stride) {
      dilation *= stride;
      stride = 1;
    } else {
      net_stride *= stride;
    }

    Chain downsample{nullptr};
    if (stride != 1 || inplanes != out_channels) {
      const DownsampleOptions down{.in_channels = inplanes,
                                   .out_channels = out_channels,
                                   .kernel_size = o.down_kernel_size,
                                   .stride = stride,
                                   .dilation = dilation,
                                   .first_dilation = previous_dilation,
                                   .norm_layer = o.norm_layer};
      const std::string where = name_ + " " + stage_name + ".0.downsample";
      downsample = o.avg_down ? downsample_avg(down, where) : downsample_conv(down, where);
    }

    // DropBlock only in the last two stages, with timm's block sizes and gamma scales.
    const bool drop_block = o.drop_block_rate > 0.0 && stage_index >= 2;
    Chain stage;
    for (std::int64_t i = 0; i < o.layers[stage_index]; ++i) {
      const double drop_path = total_blocks > 1 ? o.drop_path_rate * static_cast<double>(block_index) /
                                                      static_cast<double>(total_blocks - 1)
                                                : 0.0;
      const BlockOptions block{.inplanes = inplanes,
                               .planes = planes,
                               .stride = i == 0 ? stride : 1,
                               .cardinality = o.cardinality,
                               .base_width = o.base_width,
                               .reduce_first = o.block_reduce_first,
                               .dilation = dilation,
                               .first_dilation = previous_dilation,
                               .act_layer = o.act_layer,
                               .norm_layer = o.norm_layer,
                               .aa_layer = o.aa_layer,
                               .attn_layer = o.attn_layer,
                               .attn_rd_ratio = o.attn_rd_ratio,
                               .drop_block_rate = drop_block ? o.drop_block_rate : 0.0,
                               .drop_block_size = stage_index == 2 ? 5 : 3,
                               .drop_block_gamma_scale = stage_index == 2 ? 0.25 : 1.0,
                               .drop_path_rate = drop_path};
      const std::string where = name_ + " " + stage_name + "." + std::to_string(i);
      Chain shortcut = i == 0 ? downsample : Chain{nullptr};
      if (o.block == BlockType::basic) {
        stage->push_back(torch::nn::AnyModule(BasicBlock(block, shortcut, where)));
      } else {
        stage->push_back(torch::nn::AnyModule(Bottleneck(block, shortcut, where)));
      }
      previous_dilation = dilation;
      inplanes = out_channels;
      ++block_index;
    }
    stages_.push_back(register_module(stage_name, stage));
    feature_info_.push_back({inplanes, net_stride, stage_name});
  }

  // Head: global_pool (no parameters) and fc.
  num_features_ = o.channels.back() * expansion;
  auto classifier = layers::create_classifier(num_features_, o.num_classes, o.global_pool, name_);
  global_pool_ = register_module("global_pool", classifier.global_pool);
  if (classifier.fc) fc_ = register_module("fc", classifier.fc);

  init_weights();
  validate_feature_info(feature_info_, name_);
  if (pretrained_cfg.first_conv.empty()) pretrained_cfg.first_conv = deep_stem ? "conv1.0" : "conv1";
  if (pretrained_cfg.classifier.empty()) pretrained_cfg.classifier = "fc";
  set_pretrained_cfg(std::move(pretrained_cfg));
}

void ResNetImpl::validate() const {
  const auto& o = options_;
  const auto fail = [&](const std::string& field, const std::string& expected, const std::string& got,
                        const std::string& advice = {}) { fail_option(name_, field, expected, got, advice); };
  const auto stage_list_ok = [](const std::vector<std::int64_t>& values) {
    return values.size() == kStages && std::all_of(values.begin(), values.end(), [](auto v) { return v >= 1; });
  };
  if (!stage_list_ok(o.layers)) fail("layers", "4 block counts of at least 1", shown(o.layers));
  if (!stage_list_ok(o.channels)) fail("channels", "4 widths of at least 1", shown(o.channels));
  if (o.num_classes < 0) fail("num_classes", "0 (no classifier) or more", std::to_string(o.num_classes));
  if (o.in_chans < 1) fail("in_chans", "at least 1", std::to_string(o.in_chans));
  if (o.output_stride != 8 && o.output_stride != 16 && o.output_stride != 32) {
    fail("output_stride", "8, 16 or 32", std::to_string(o.output_stride));
  }
  if (o.cardinality < 1) fail("cardinality", "at least 1", std::to_string(o.cardinality));
  if (o.base_width < 1) fail("base_width", "at least 1", std::to_string(o.base_width));
  if (o.block == BlockType::basic && (o.cardinality != 1 || o.base_width != 64)) {
    fail("cardinality", "1 with base_width 64 for block 'basic'",
         "cardinality " + std::to_string(o.cardinality) + ", base_width " + std::to_string(o.base_width),
         "use block 'bottleneck' for ResNeXt-style widths");
  }
  const std::int64_t min_stem_width = o.stem_type == StemType::deep_tiered ? 4 : 1;
  if (o.stem_width < min_stem_width) {
    fail("stem_width", "at least " + std::to_string(min_stem_width) + " for stem_type '" +
                           std::string(to_string(o.stem_type)) + "'",
         std::to_string(o.stem_width));
  }
  if (o.block_reduce_first < 1) fail("block_reduce_first", "at least 1", std::to_string(o.block_reduce_first));
  if (o.down_kernel_size < 1) fail("down_kernel_size", "at least 1", std::to_string(o.down_kernel_size));
  const auto probability = [&](double value, const char* field) {
    if (!(value >= 0.0 && value < 1.0)) fail(field, "a probability in [0, 1)", shown(value));
  };
  probability(o.drop_rate, "drop_rate");
  probability(o.drop_path_rate, "drop_path_rate");
  probability(o.drop_block_rate, "drop_block_rate");
  if (o.attn_layer == AttnType::se && !(o.attn_rd_ratio > 0.0)) {
    fail("attn_rd_ratio", "a ratio > 0", shown(o.attn_rd_ratio));
  }
  if (o.global_pool == layers::PoolType::none && o.num_classes > 0) {
    fail("global_pool", "a pool type (avg, max, avgmax, catavgmax) when num_classes > 0",
         "'' (no pooling) with num_classes=" + std::to_string(o.num_classes),
         "set num_classes=0 to get unpooled maps from forward_head");
  }
}

void ResNetImpl::init_weights() {
  torch::NoGradGuard no_grad;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2dImpl>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
    }
  }
  if (!options_.zero_init_last) return;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* basic = module->as<BasicBlockImpl>()) basic->zero_init_last();
    if (auto* bottleneck = module->as<BottleneckImpl>()) bottleneck->zero_init_last();
  }
}

torch::Tensor ResNetImpl::forward_stem(const torch::Tensor& x) {
  torch::Tensor y = bn1_.forward(conv1_.forward(x));
  return layers::apply_activation_(options_.act_layer, y);
}

torch::Tensor ResNetImpl::forward_features(const torch::Tensor& x) {
  torch::Tensor y = maxpool_.forward(stage_output(0, forward_stem(x)));
  std::int64_t index = 1;  // feature_info: the stem, then one entry per stage
  for (auto& stage : stages_) y = stage_output(index++, stage->forward(y));
  return y;
}

torch::Tensor ResNetImpl::forward_head(const torch::Tensor& features, bool pre_logits) {
  torch::Tensor y = global_pool_->forward(features);
  if (options_.drop_rate > 0.0) y = torch::dropout(y, options_.drop_rate, is_training());
  if (pre_logits || !fc_) return y;
  return fc_->forward(y);
}

std::vector<torch::Tensor> ResNetImpl::forward_intermediates(const torch::Tensor& x,
                                                             const std::vector<std::int64_t>& indices) {
  const auto wanted = resolve_feature_indices(indices, static_cast<std::int64_t>(feature_info_.size()));
  if (wanted.empty()) return {};
  const std::int64_t last = *std::max_element(wanted.begin(), wanted.end());
  std::vector<torch::Tensor> maps;  // maps[i] is stage i's output
  torch::Tensor y = stage_output(0, forward_stem(x));
  maps.push_back(y);
  if (last > 0) {
    y = maxpool_.forward(y);
    for (std::int64_t stage = 0; stage < last; ++stage) {
      y = stage_output(stage + 1, stages_[static_cast<std::size_t>(stage)]->forward(y));
      maps.push_back(y);
    }
  }
  std::vector<torch::Tensor> out;
  out.reserve(wanted.size());
  for (const auto index : wanted) out.push_back(maps[static_cast<std::size_t>(index)]);
  return out;
}

void ResNetImpl::reset_classifier(std::int64_t num_classes) {
  auto classifier = layers::create_classifier(num_features_, num_classes, options_.global_pool, name_);
  if (fc_) unregister_module("fc");
  fc_ = nullptr;
  if (classifier.fc) {
    // The new layer joins the model where it lives (timm leaves it on the default device).
    const auto reference = conv1_.ptr()->parameters().front();
    classifier.fc->to(reference.device(), reference.scalar_type());
    fc_ = register_module("fc", classifier.fc);
  }
  options_.num_classes = num_classes;
}

}  // namespace autotimm::resnet
