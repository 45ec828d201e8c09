#include "blocks.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"
#include "autotimm/layers/batch_norm.hpp"
#include "autotimm/layers/drop.hpp"
#include "autotimm/layers/eca.hpp"
#include "autotimm/layers/helpers.hpp"
#include "autotimm/layers/pool2d_same.hpp"
#include "autotimm/layers/squeeze_excite.hpp"

namespace autotimm::resnet {
namespace {

constexpr std::int64_t kGroupNormGroups = 32;  // timm's GroupNorm default
constexpr double kNormEps = 1e-5;

torch::nn::Conv2d make_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride = 1,
                            std::int64_t padding = 0, std::int64_t dilation = 1, std::int64_t groups = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                               .stride(stride)
                               .padding(padding)
                               .dilation(dilation)
                               .groups(groups)
                               .bias(false));
}

// timm's create_attn(attn_layer, channels); AttnType::none gives an empty module (not registered).
torch::nn::AnyModule make_attention(AttnType type, std::int64_t channels, double rd_ratio) {
  switch (type) {
    case AttnType::none: return {};
    case AttnType::se:
      return torch::nn::AnyModule(
          layers::SEModule(layers::SEModuleOptions{.channels = channels, .rd_ratio = rd_ratio}));
    case AttnType::eca: return torch::nn::AnyModule(layers::EcaModule(layers::EcaModuleOptions{.channels = channels}));
  }
  return {};
}

// The optional regularisers and anti-aliasing every block shares.
struct BlockExtras {
  torch::nn::AnyModule drop_block, aa, drop_path;
};

BlockExtras make_extras(const BlockOptions& options, std::int64_t aa_channels, bool use_aa) {
  BlockExtras extras;
  if (options.drop_block_rate > 0.0) {
    extras.drop_block = torch::nn::AnyModule(layers::DropBlock2d(layers::DropBlock2dOptions{
        .drop_prob = options.drop_block_rate,
        .block_size = options.drop_block_size,
        .gamma_scale = options.drop_block_gamma_scale}));
  }
  if (use_aa) extras.aa = layers::create_aa(options.aa_layer, aa_channels, options.stride);
  if (options.drop_path_rate > 0.0) {
    extras.drop_path =
        torch::nn::AnyModule(layers::DropPath(layers::DropPathOptions{.drop_prob = options.drop_path_rate}));
  }
  return extras;
}

void check_positive(std::int64_t value, const char* field, const std::string& where) {
  if (value < 1) throw ConfigError(where + ": '" + field + "': expected at least 1, got " + std::to_string(value));
}

torch::Tensor forward_if_present(torch::nn::AnyModule& module, torch::Tensor x) {
  return module.is_empty() ? x : module.forward(x);
}

}  // namespace

std::string_view to_string(BlockType type) noexcept {
  return type == BlockType::basic ? "basic" : "bottleneck";
}

std::string_view to_string(StemType type) noexcept {
  switch (type) {
    case StemType::single: return "";
    case StemType::deep: return "deep";
    case StemType::deep_tiered: return "deep_tiered";
  }
  return "unknown";
}

std::string_view to_string(AttnType type) noexcept {
  switch (type) {
    case AttnType::none: return "";
    case AttnType::se: return "se";
    case AttnType::eca: return "eca";
  }
  return "unknown";
}

std::string_view to_string(NormType type) noexcept {
  return type == NormType::batchnorm ? "batchnorm" : "groupnorm";
}

std::int64_t block_expansion(BlockType type) noexcept { return type == BlockType::basic ? 1 : 4; }

// ---- Chain ---------------------------------------------------------------------------------------------------------

void ChainImpl::push_back(torch::nn::AnyModule module) {
  register_module(std::to_string(modules_.size()), module.ptr());
  modules_.push_back(std::move(module));
}

torch::Tensor ChainImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = x;
  for (auto& module : modules_) y = module.forward(y);
  return y;
}

// ---- norms ---------------------------------------------------------------------------------------------------------

torch::nn::AnyModule make_norm(NormType type, std::int64_t channels, std::string_view where) {
  if (type == NormType::batchnorm) {
    // The SDK's BatchNorm2d (torch's numbers) so that a distributed run can synchronise it.
    return torch::nn::AnyModule(layers::BatchNorm2d(layers::BatchNorm2dOptions{.num_features = channels, .eps = kNormEps, .momentum = 0.1}));
  }
  if (channels % kGroupNormGroups != 0) {
    throw ConfigError(std::string(where) + ": norm_layer 'groupnorm' uses " + std::to_string(kGroupNormGroups) +
                      " groups, which must divide the channels; got " + std::to_string(channels) +
                      " channels; use norm_layer 'batchnorm' or widths that are multiples of 32");
  }
  return torch::nn::AnyModule(
      torch::nn::GroupNorm(torch::nn::GroupNormOptions(kGroupNormGroups, channels).eps(kNormEps)));
}

torch::Tensor norm_weight(const torch::nn::AnyModule& norm) {
  return norm.ptr()->named_parameters(/*recurse=*/false)["weight"];
}

// ---- BasicBlock ----------------------------------------------------------------------------------------------------

BasicBlockImpl::BasicBlockImpl(BlockOptions options, Chain downsample, const std::string& where)
    : options_(std::move(options)) {
  if (options_.cardinality != 1 || options_.base_width != 64) {
    throw ConfigError(where + ": block 'basic' supports only cardinality 1 and base_width 64, got cardinality " +
                      std::to_string(options_.cardinality) + " and base_width " +
                      std::to_string(options_.base_width) + "; use block 'bottleneck' for ResNeXt widths");
  }
  check_positive(options_.reduce_first, "block_reduce_first", where);
  const std::int64_t first_planes = options_.planes / options_.reduce_first;
  check_positive(first_planes, "planes / block_reduce_first", where);
  const std::int64_t out_planes = options_.planes;
  const bool use_aa = options_.aa_layer != layers::AntiAliasType::none &&
                      (options_.stride == 2 || options_.first_dilation != options_.dilation);

  conv1_ = register_module("conv1", make_conv(options_.inplanes, first_planes, 3, use_aa ? 1 : options_.stride,
                                              options_.first_dilation, options_.first_dilation));
  bn1_ = make_norm(options_.norm_layer, first_planes, where + ".bn1");
  register_module("bn1", bn1_.ptr());
  auto extras = make_extras(options_, first_planes, use_aa);
  drop_block_ = extras.drop_block;
  if (!drop_block_.is_empty()) register_module("drop_block", drop_block_.ptr());
  aa_ = extras.aa;
  if (!aa_.is_empty()) register_module("aa", aa_.ptr());
  conv2_ = register_module("conv2", make_conv(first_planes, out_planes, 3, 1, options_.dilation, options_.dilation));
  bn2_ = make_norm(options_.norm_layer, out_planes, where + ".bn2");
  register_module("bn2", bn2_.ptr());
  se_ = make_attention(options_.attn_layer, out_planes, options_.attn_rd_ratio);
  if (!se_.is_empty()) register_module("se", se_.ptr());
  if (downsample) downsample_ = register_module("downsample", downsample);
  drop_path_ = extras.drop_path;
  if (!drop_path_.is_empty()) register_module("drop_path", drop_path_.ptr());
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = bn1_.forward(conv1_->forward(x));
  y = forward_if_present(drop_block_, y);
  y = layers::apply_activation_(options_.act_layer, y);
  y = forward_if_present(aa_, y);
  y = bn2_.forward(conv2_->forward(y));
  y = forward_if_present(se_, y);
  y = forward_if_present(drop_path_, y);
  y.add_(downsample_ ? downsample_->forward(x) : x);
  return layers::apply_activation_(options_.act_layer, y);
}

void BasicBlockImpl::zero_init_last() {
  torch::NoGradGuard no_grad;
  if (auto weight = norm_weight(bn2_); weight.defined()) weight.zero_();
}

// ---- Bottleneck ----------------------------------------------------------------------------------------------------

BottleneckImpl::BottleneckImpl(BlockOptions options, Chain downsample, const std::string& where)
    : options_(std::move(options)) {
  check_positive(options_.cardinality, "cardinality", where);
  check_positive(options_.base_width, "base_width", where);
  check_positive(options_.reduce_first, "block_reduce_first", where);
  // floor(planes × base_width / 64) × cardinality, in integers (planes and base_width are positive).
  const std::int64_t width = options_.planes * options_.base_width / 64 * options_.cardinality;
  const std::int64_t first_planes = width / options_.reduce_first;
  const std::int64_t out_planes = options_.planes * block_expansion(BlockType::bottleneck);
  if (width < 1 || first_planes < 1 || first_planes % options_.cardinality != 0) {
    throw ConfigError(where + ": bottleneck width " + std::to_string(width) + " (first conv " +
                      std::to_string(first_planes) + ") must be at least 1 and divisible by cardinality " +
                      std::to_string(options_.cardinality) + "; adjust base_width, cardinality or block_reduce_first");
  }
  const bool use_aa = options_.aa_layer != layers::AntiAliasType::none &&
                      (options_.stride == 2 || options_.first_dilation != options_.dilation);

  conv1_ = register_module("conv1", make_conv(options_.inplanes, first_planes, 1));
  bn1_ = make_norm(options_.norm_layer, first_planes, where + ".bn1");
  register_module("bn1", bn1_.ptr());
  conv2_ = register_module("conv2", make_conv(first_planes, width, 3, use_aa ? 1 : options_.stride,
                                              options_.first_dilation, options_.first_dilation, options_.cardinality));
  bn2_ = make_norm(options_.norm_layer, width, where + ".bn2");
  register_module("bn2", bn2_.ptr());
  auto extras = make_extras(options_, width, use_aa);
  drop_block_ = extras.drop_block;
  if (!drop_block_.is_empty()) register_module("drop_block", drop_block_.ptr());
  aa_ = extras.aa;
  if (!aa_.is_empty()) register_module("aa", aa_.ptr());
  conv3_ = register_module("conv3", make_conv(width, out_planes, 1));
  bn3_ = make_norm(options_.norm_layer, out_planes, where + ".bn3");
  register_module("bn3", bn3_.ptr());
  se_ = make_attention(options_.attn_layer, out_planes, options_.attn_rd_ratio);
  if (!se_.is_empty()) register_module("se", se_.ptr());
  if (downsample) downsample_ = register_module("downsample", downsample);
  drop_path_ = extras.drop_path;
  if (!drop_path_.is_empty()) register_module("drop_path", drop_path_.ptr());
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = bn1_.forward(conv1_->forward(x));
  y = layers::apply_activation_(options_.act_layer, y);
  y = bn2_.forward(conv2_->forward(y));
  y = forward_if_present(drop_block_, y);
  y = layers::apply_activation_(options_.act_layer, y);
  y = forward_if_present(aa_, y);
  y = bn3_.forward(conv3_->forward(y));
  y = forward_if_present(se_, y);
  y = forward_if_present(drop_path_, y);
  y.add_(downsample_ ? downsample_->forward(x) : x);
  return layers::apply_activation_(options_.act_layer, y);
}

void BottleneckImpl::zero_init_last() {
  torch::NoGradGuard no_grad;
  if (auto weight = norm_weight(bn3_); weight.defined()) weight.zero_();
}

// ---- shortcuts and stem --------------------------------------------------------------------------------------------

Chain downsample_conv(const DownsampleOptions& options, std::string_view where) {
  const bool strides_or_dilates = options.stride != 1 || options.dilation != 1;
  const std::int64_t kernel = strides_or_dilates ? options.kernel_size : 1;
  const std::int64_t dilation = kernel > 1 ? options.first_dilation : 1;
  const std::int64_t padding = layers::get_padding(kernel, options.stride, dilation);
  Chain chain;
  chain->push_back(torch::nn::AnyModule(
      make_conv(options.in_channels, options.out_channels, kernel, options.stride, padding, dilation)));
  chain->push_back(make_norm(options.norm_layer, options.out_channels, std::string(where) + ".1"));
  return chain;
}

Chain downsample_avg(const DownsampleOptions& options, std::string_view where) {
  const std::int64_t avg_stride = options.dilation == 1 ? options.stride : 1;
  Chain chain;
  if (options.stride == 1 && options.dilation == 1) {
    chain->push_back(torch::nn::AnyModule(torch::nn::Identity()));
  } else if (avg_stride == 1 && options.dilation > 1) {
    chain->push_back(torch::nn::AnyModule(layers::AvgPool2dSame(
        layers::AvgPool2dSameOptions{.kernel_size = 2, .stride = 1, .ceil_mode = true, .count_include_pad = false})));
  } else {
    chain->push_back(torch::nn::AnyModule(torch::nn::AvgPool2d(
        torch::nn::AvgPool2dOptions(2).stride(avg_stride).ceil_mode(true).count_include_pad(false))));
  }
  chain->push_back(torch::nn::AnyModule(make_conv(options.in_channels, options.out_channels, 1)));
  chain->push_back(make_norm(options.norm_layer, options.out_channels, std::string(where) + ".2"));
  return chain;
}

Chain make_deep_stem(std::int64_t in_chans, std::int64_t first_channels, std::int64_t second_channels,
                     std::int64_t out_channels, NormType norm, layers::Activation act, std::string_view where) {
  const std::string prefix(where);
  const auto act_layer = [act] {
    return torch::nn::AnyModule(
        layers::ActivationLayer(layers::ActivationLayerOptions{.activation = act, .inplace = true}));
  };
  Chain stem;
  stem->push_back(torch::nn::AnyModule(make_conv(in_chans, first_channels, 3, 2, 1)));
  stem->push_back(make_norm(norm, first_channels, prefix + ".1"));
  stem->push_back(act_layer());
  stem->push_back(torch::nn::AnyModule(make_conv(first_channels, second_channels, 3, 1, 1)));
  stem->push_back(make_norm(norm, second_channels, prefix + ".4"));
  stem->push_back(act_layer());
  stem->push_back(torch::nn::AnyModule(make_conv(second_channels, out_channels, 3, 1, 1)));
  return stem;
}

}  // namespace autotimm::resnet
