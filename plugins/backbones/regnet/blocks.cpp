#include "blocks.hpp"

#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/layers/batch_norm.hpp"
#include "autotimm/layers/drop.hpp"
#include "autotimm/layers/helpers.hpp"
#include "autotimm/layers/pool2d_same.hpp"

namespace autotimm::regnet {
namespace {

constexpr double kNormEps = 1e-5;          // timm's BatchNorm2d / GroupNorm default
constexpr std::int64_t kGroupNormGroups = 32;  // timm's GroupNormAct default when no group_size is bound

// Python's round(): to the nearest integer, halves to even (the default floating-point rounding mode).
std::int64_t python_round(double value) { return static_cast<std::int64_t>(std::nearbyint(value)); }

// timm's create_conv2d with its default padding: a bias-free conv, symmetric padding.
torch::nn::Conv2d plain_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride = 1,
                             std::int64_t dilation = 1, std::int64_t groups = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                               .stride(stride)
                               .padding(layers::get_padding(kernel, stride, dilation))
                               .dilation(dilation)
                               .groups(groups)
                               .bias(false));
}

// timm's downsample_avg: "0" a 2×2 average pool (ceil mode, padding not counted; SAME-padded at stride 1 when the
// block dilates; nothing when neither strides nor dilates), "1" the 1×1 projection (ConvNormAct, or a plain conv in
// pre-activation blocks).
class AvgShortcutImpl : public torch::nn::Module {
 public:
  AvgShortcutImpl(std::int64_t stride, std::int64_t dilation, torch::nn::AnyModule projection) : proj_(projection) {
    const std::int64_t avg_stride = dilation == 1 ? stride : 1;
    if (stride > 1 || dilation > 1) {
      if (avg_stride == 1 && dilation > 1) {
        pool_ = torch::nn::AnyModule(layers::AvgPool2dSame(layers::AvgPool2dSameOptions{
            .kernel_size = 2, .stride = avg_stride, .ceil_mode = true, .count_include_pad = false}));
      } else {
        pool_ = torch::nn::AnyModule(torch::nn::AvgPool2d(
            torch::nn::AvgPool2dOptions(2).stride(avg_stride).ceil_mode(true).count_include_pad(false)));
      }
    } else {
      pool_ = torch::nn::AnyModule(torch::nn::Identity());
    }
    register_module("0", pool_.ptr());
    register_module("1", proj_.ptr());
  }

  torch::Tensor forward(const torch::Tensor& x) { return proj_.forward(pool_.forward(x)); }

 private:
  torch::nn::AnyModule pool_, proj_;
};
TORCH_MODULE(AvgShortcut);

// timm's create_shortcut: a projection when the block changes width, stride or dilation (nothing at all for
// downsample None), else an identity (an empty AnyModule here). Returns whether the block adds a shortcut.
bool make_shortcut(const BlockOptions& o, bool preact, const std::string& where, torch::nn::AnyModule& out) {
  if (o.in_chs == o.out_chs && o.stride == 1 && o.first_dilation == o.dilation) return true;  // identity
  if (o.downsample == Downsample::none) return false;
  // downsample_conv keeps kernel 1 (RegNet passes 1), so it never dilates.
  const auto projection = [&](std::int64_t stride) {
    if (preact) return torch::nn::AnyModule(plain_conv(o.in_chs, o.out_chs, 1, stride));
    return torch::nn::AnyModule(ConvNormAct(ConvNormActOptions{.in_channels = o.in_chs,
                                                               .out_channels = o.out_chs,
                                                               .kernel_size = 1,
                                                               .stride = stride,
                                                               .norm = o.norm,
                                                               .apply_act = false},
                                            where + ".downsample"));
  };
  if (o.downsample == Downsample::avg) {
    out = torch::nn::AnyModule(AvgShortcut(o.stride, o.first_dilation, projection(1)));
  } else {
    out = projection(o.stride);
  }
  return true;
}

torch::Tensor norm_act(torch::nn::AnyModule& norm, const torch::Tensor& x, layers::Activation act) {
  torch::Tensor y = norm.forward(x);
  return layers::apply_activation_(act, y);
}

// timm's SEModule(bottleneck, rd_channels=round(in_chs × se_ratio), act_layer=the block's); none without se_ratio.
layers::SEModule make_se(const BlockOptions& o, std::int64_t channels, const std::string& where) {
  if (o.se_ratio == 0.0) return layers::SEModule{nullptr};
  const std::int64_t reduced = se_channels(o);
  if (reduced < 1) {
    throw ConfigError(where + ": option 'se_ratio': expected a ratio giving at least 1 SE channel from " +
                      std::to_string(o.in_chs) + " input channels, got " + std::to_string(o.se_ratio) +
                      " (round(" + std::to_string(o.in_chs) + " × se_ratio) = " + std::to_string(reduced) +
                      "); raise se_ratio or set it to 0");
  }
  return layers::SEModule(
      layers::SEModuleOptions{.channels = channels, .rd_channels = reduced, .act_layer = o.act_layer});
}

void check_groups(const BlockOptions& o, std::int64_t bottleneck, const std::string& where) {
  const std::int64_t groups = o.group_size > 0 ? bottleneck / o.group_size : 0;
  if (groups < 1 || bottleneck % groups != 0) {
    throw ConfigError(where +
                      ": option 'group_size': expected a group width giving whole groups of the bottleneck width " +
                      std::to_string(bottleneck) + ", got " + std::to_string(o.group_size) + " (" +
                      std::to_string(groups) + " groups); choose bottle_ratio and group_size so that they fit");
  }
}

}  // namespace

std::string_view to_string(Downsample type) noexcept {
  switch (type) {
    case Downsample::none:
      return "";
    case Downsample::conv1x1:
      return "conv1x1";
    case Downsample::avg:
      return "avg";
  }
  return "?";
}

std::string_view to_string(NormLayer type) noexcept {
  switch (type) {
    case NormLayer::batchnorm:
      return "batchnorm";
    case NormLayer::groupnorm:
      return "groupnorm";
  }
  return "?";
}

torch::nn::AnyModule make_norm(const NormSpec& norm, std::int64_t channels, const std::string& where) {
  if (norm.layer == NormLayer::batchnorm) {
    return torch::nn::AnyModule(
        layers::BatchNorm2d(layers::BatchNorm2dOptions{.num_features = channels, .eps = kNormEps}));
  }
  std::int64_t groups = kGroupNormGroups;
  if (norm.group_size) groups = *norm.group_size > 0 ? channels / *norm.group_size : 0;
  if (groups < 1 || channels % groups != 0) {
    const std::string layout = norm.group_size ? "groups of " + std::to_string(*norm.group_size) + " channels"
                                               : std::to_string(kGroupNormGroups) + " groups";
    throw ConfigError(where + ": norm_layer 'groupnorm' with " + layout + " must divide the channels evenly; got " +
                      std::to_string(channels) + " channels; use norm_layer 'batchnorm' or other widths");
  }
  return torch::nn::AnyModule(torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels).eps(kNormEps)));
}

torch::Tensor norm_weight(const torch::nn::AnyModule& norm) {
  return norm.ptr()->named_parameters(/*recurse=*/false)["weight"];
}

// ---- ConvNormAct ---------------------------------------------------------------------------------------------------

ConvNormActImpl::ConvNormActImpl(ConvNormActOptions options_, const std::string& where) : options(options_) {
  const auto& o = options;
  conv = register_module("conv", plain_conv(o.in_channels, o.out_channels, o.kernel_size, o.stride, o.dilation,
                                            o.groups));
  bn_ = make_norm(o.norm, o.out_channels, where + ".bn");
  register_module("bn", bn_.ptr());
}

torch::Tensor ConvNormActImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = bn_.forward(conv->forward(x));
  return options.apply_act ? layers::apply_activation_(options.act_layer, y) : y;
}

torch::Tensor ConvNormActImpl::norm_weight() const { return regnet::norm_weight(bn_); }

// ---- Bottleneck ----------------------------------------------------------------------------------------------------

std::int64_t bottleneck_channels(const BlockOptions& options) {
  return python_round(static_cast<double>(options.out_chs) * options.bottle_ratio);
}

std::int64_t se_channels(const BlockOptions& options) {
  return python_round(static_cast<double>(options.in_chs) * options.se_ratio);
}

BottleneckImpl::BottleneckImpl(BlockOptions options_, const std::string& where) : options(std::move(options_)) {
  const auto& o = options;
  const std::int64_t mid = bottleneck_channels(o);
  check_groups(o, mid, where);
  const ConvNormActOptions common{.norm = o.norm, .act_layer = o.act_layer};
  auto with = [&](std::int64_t in, std::int64_t out, std::int64_t kernel) {
    ConvNormActOptions c = common;
    c.in_channels = in;
    c.out_channels = out;
    c.kernel_size = kernel;
    return c;
  };
  conv1_ = register_module("conv1", ConvNormAct(with(o.in_chs, mid, 1), where + ".conv1"));
  ConvNormActOptions second = with(mid, mid, 3);
  second.stride = o.stride;
  second.dilation = o.first_dilation;
  second.groups = mid / o.group_size;
  conv2_ = register_module("conv2", ConvNormAct(second, where + ".conv2"));
  if (auto se = make_se(o, mid, where)) se_ = register_module("se", se);
  ConvNormActOptions third = with(mid, o.out_chs, 1);
  third.apply_act = false;
  conv3_ = register_module("conv3", ConvNormAct(third, where + ".conv3"));
  has_shortcut_ = make_shortcut(o, /*preact=*/false, where, downsample_);
  if (!downsample_.is_empty()) register_module("downsample", downsample_.ptr());
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = conv2_->forward(conv1_->forward(x));
  if (se_) y = se_->forward(y);
  y = conv3_->forward(y);
  if (has_shortcut_) {
    y = layers::drop_path(y, options.drop_path_rate, is_training()) +
        (downsample_.is_empty() ? x : downsample_.forward(x));
  }
  return options.linear_out ? y : layers::apply_activation_(options.act_layer, y);
}

void BottleneckImpl::zero_init_last() {
  torch::NoGradGuard no_grad;
  conv3_->norm_weight().zero_();
}

// ---- PreBottleneck -------------------------------------------------------------------------------------------------

PreBottleneckImpl::PreBottleneckImpl(BlockOptions options_, const std::string& where) : options(std::move(options_)) {
  const auto& o = options;
  const std::int64_t mid = bottleneck_channels(o);
  check_groups(o, mid, where);
  norm1_ = make_norm(o.norm, o.in_chs, where + ".norm1");
  register_module("norm1", norm1_.ptr());
  conv1_ = register_module("conv1", plain_conv(o.in_chs, mid, 1));
  norm2_ = make_norm(o.norm, mid, where + ".norm2");
  register_module("norm2", norm2_.ptr());
  conv2_ = register_module("conv2", plain_conv(mid, mid, 3, o.stride, o.first_dilation, mid / o.group_size));
  if (auto se = make_se(o, mid, where)) se_ = register_module("se", se);
  norm3_ = make_norm(o.norm, mid, where + ".norm3");
  register_module("norm3", norm3_.ptr());
  conv3_ = register_module("conv3", plain_conv(mid, o.out_chs, 1));
  has_shortcut_ = make_shortcut(o, /*preact=*/true, where, downsample_);
  if (!downsample_.is_empty()) register_module("downsample", downsample_.ptr());
}

torch::Tensor PreBottleneckImpl::forward(const torch::Tensor& x) {
  const torch::Tensor shortcut = norm_act(norm1_, x, options.act_layer);
  torch::Tensor y = conv1_->forward(shortcut);
  y = conv2_->forward(norm_act(norm2_, y, options.act_layer));
  if (se_) y = se_->forward(y);
  y = conv3_->forward(norm_act(norm3_, y, options.act_layer));
  if (has_shortcut_) {
    y = layers::drop_path(y, options.drop_path_rate, is_training()) +
        (downsample_.is_empty() ? shortcut : downsample_.forward(shortcut));
  }
  return y;
}

// ---- RegStage ------------------------------------------------------------------------------------------------------

RegStageImpl::RegStageImpl(StageOptions options_, const std::string& where) : options(std::move(options_)) {
  const auto& o = options;
  std::int64_t first_dilation = o.dilation == 1 || o.dilation == 2 ? 1 : 2;
  for (std::int64_t i = 0; i < o.depth; ++i) {
    BlockOptions block = o.block;
    block.in_chs = i == 0 ? o.in_chs : o.block.out_chs;
    block.stride = i == 0 ? o.stride : 1;
    block.first_dilation = first_dilation;
    block.dilation = o.dilation;
    block.drop_path_rate = static_cast<std::size_t>(i) < o.drop_path_rates.size()
                               ? o.drop_path_rates[static_cast<std::size_t>(i)]
                               : 0.0;
    const std::string name = "b" + std::to_string(i + 1);
    if (o.preact) {
      blocks_.emplace_back(PreBottleneck(block, where + "." + name));
    } else {
      bottlenecks_.push_back(Bottleneck(block, where + "." + name));
      blocks_.emplace_back(bottlenecks_.back());
    }
    register_module(name, blocks_.back().ptr());
    first_dilation = o.dilation;
  }
}

torch::Tensor RegStageImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = x;
  for (auto& block : blocks_) y = block.forward(y);
  return y;
}

void RegStageImpl::zero_init_last() {
  for (auto& block : bottlenecks_) block->zero_init_last();
}

}  // namespace autotimm::regnet
