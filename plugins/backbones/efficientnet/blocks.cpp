#include "blocks.hpp"

#include <torch/torch.h>

#include <numeric>

#include "autotimm/error.hpp"
#include "autotimm/layers/drop.hpp"
#include "autotimm/layers/helpers.hpp"

namespace autotimm::efficientnet {
namespace {

// timm's get_padding_value: "same" is static (symmetric) only for stride 1 with an even dilated extent.
struct Padding {
  std::int64_t value = 0;
  bool dynamic = false;
};

Padding padding_for(PadType type, std::int64_t kernel, std::int64_t stride, std::int64_t dilation) {
  switch (type) {
    case PadType::valid:
      return {};
    case PadType::same:
      if (stride == 1 && (dilation * (kernel - 1)) % 2 == 0) return {layers::get_padding(kernel, stride, dilation)};
      return {0, true};
    case PadType::symmetric:
      break;
  }
  return {layers::get_padding(kernel, stride, dilation)};
}

Conv2dPad make_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, const ConvSpec& spec, std::int64_t groups) {
  const auto pad = padding_for(spec.padding, kernel, spec.stride, spec.dilation);
  return Conv2dPad(torch::nn::Conv2dOptions(in, out, kernel)
                       .stride(spec.stride)
                       .padding(pad.value)
                       .dilation(spec.dilation)
                       .groups(groups)
                       .bias(spec.bias),
                   pad.dynamic);
}

// timm's _split_channels: equal parts, the first one taking what the division leaves.
std::vector<std::int64_t> split_channels(std::int64_t channels, std::int64_t parts) {
  std::vector<std::int64_t> split(static_cast<std::size_t>(parts), channels / parts);
  split.front() += channels - std::accumulate(split.begin(), split.end(), std::int64_t{0});
  return split;
}

// timm's num_groups: a group size of 0 is a dense conv, otherwise channels / group_size groups.
std::int64_t groups_for(std::int64_t group_size, std::int64_t channels) {
  if (group_size == 0) return 1;
  if (group_size < 0 || channels % group_size != 0) {
    throw ConfigError("group size " + std::to_string(group_size) + " does not divide " + std::to_string(channels) +
                      " channels; choose a 'gs' that divides the block's width");
  }
  return channels / group_size;
}

BatchNormAct2d norm_act(const BlockContext& ctx, std::int64_t channels, bool apply_act) {
  auto options = ctx.norm;
  options.num_features = channels;
  return BatchNormAct2d(options, apply_act ? std::optional<layers::Activation>(ctx.act) : std::nullopt);
}

}  // namespace

Conv2dPadImpl::Conv2dPadImpl(torch::nn::Conv2dOptions options, bool dynamic_same)
    : torch::nn::Conv2dImpl(std::move(options)), dynamic_same(dynamic_same) {}

torch::Tensor Conv2dPadImpl::forward(const torch::Tensor& x) {
  if (!dynamic_same) return torch::nn::Conv2dImpl::forward(x);
  // TF "SAME": enough total padding for ceil(size / stride) outputs, the odd pixel after (timm's pad_same).
  const auto& o = this->options;
  const auto pad_h = layers::get_same_padding(x.size(-2), o.kernel_size()->at(0), o.stride()->at(0),
                                              o.dilation()->at(0));
  const auto pad_w = layers::get_same_padding(x.size(-1), o.kernel_size()->at(1), o.stride()->at(1),
                                              o.dilation()->at(1));
  if (pad_h == 0 && pad_w == 0) return torch::nn::Conv2dImpl::forward(x);
  return torch::nn::Conv2dImpl::forward(
      torch::constant_pad_nd(x, {pad_w / 2, pad_w - pad_w / 2, pad_h / 2, pad_h - pad_h / 2}, 0.0));
}

MixedConv2dImpl::MixedConv2dImpl(const ConvSpec& spec) {
  const auto parts = static_cast<std::int64_t>(spec.kernel_size.size());
  const bool depthwise = spec.groups == spec.in_channels;
  if (!depthwise && spec.groups != 1) {
    throw ConfigError("a mixed-kernel convolution is depthwise or dense; got " + std::to_string(spec.groups) +
                      " groups for " + std::to_string(spec.in_channels) + " channels");
  }
  splits_ = split_channels(spec.in_channels, parts);
  const auto out_splits = split_channels(spec.out_channels, parts);
  for (std::int64_t i = 0; i < parts; ++i) {
    const auto index = static_cast<std::size_t>(i);
    const auto in = splits_[index];
    convs_.push_back(register_module(std::to_string(i),
                                     make_conv(in, out_splits[index], spec.kernel_size[index], spec,
                                               depthwise ? in : 1)));
  }
}

torch::Tensor MixedConv2dImpl::forward(const torch::Tensor& x) {
  const auto pieces = torch::split_with_sizes(x, splits_, 1);
  std::vector<torch::Tensor> out;
  out.reserve(convs_.size());
  for (std::size_t i = 0; i < convs_.size(); ++i) out.push_back(convs_[i]->forward(pieces[i]));
  return torch::cat(out, 1);
}

AnyConv2d::AnyConv2d(torch::nn::Module& owner, const std::string& name, const ConvSpec& spec) {
  if (spec.kernel_size.size() > 1) {
    mixed_ = owner.register_module(name, MixedConv2d(spec));
  } else {
    conv_ = owner.register_module(name, make_conv(spec.in_channels, spec.out_channels, spec.kernel_size.front(), spec,
                                                  spec.groups));
  }
}

torch::Tensor AnyConv2d::operator()(const torch::Tensor& x) {
  return mixed_ ? mixed_->forward(x) : conv_->forward(x);
}

BatchNormAct2dImpl::BatchNormAct2dImpl(layers::BatchNorm2dOptions options, std::optional<layers::Activation> act)
    : layers::BatchNorm2dImpl(options), act_(act) {}

torch::Tensor BatchNormAct2dImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = layers::BatchNorm2dImpl::forward(x);
  return act_ ? layers::apply_activation_(*act_, y) : y;
}

SqueezeExciteImpl::SqueezeExciteImpl(std::int64_t channels, std::int64_t reduced_channels, layers::Activation act,
                                     layers::Activation gate)
    : act_(act), gate_(gate) {
  conv_reduce = register_module("conv_reduce",
                                torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, reduced_channels, 1).bias(true)));
  conv_expand = register_module("conv_expand",
                                torch::nn::Conv2d(torch::nn::Conv2dOptions(reduced_channels, channels, 1).bias(true)));
}

torch::Tensor SqueezeExciteImpl::forward(const torch::Tensor& x) {
  torch::Tensor s = conv_reduce->forward(x.mean({2, 3}, /*keepdim=*/true));
  s = layers::apply_activation_(act_, s);
  s = conv_expand->forward(s);
  return x * layers::apply_activation(gate_, s);
}

torch::Tensor EfficientBlockImpl::residual(const torch::Tensor& y, const torch::Tensor& shortcut) const {
  if (!has_skip_) return y;
  return layers::drop_path(y, drop_path_rate_, is_training()) + shortcut;
}

void EfficientBlockImpl::add_se(std::int64_t channels, const BlockContext& ctx) {
  if (!ctx.se_rd_ratio) return;
  const double width = static_cast<double>(channels) * *ctx.se_rd_ratio;
  const std::int64_t reduced = ctx.se.round_to_divisor ? round_channels(width) : python_round(width);
  if (reduced < 1) {
    throw ConfigError("squeeze-and-excitation of " + std::to_string(channels) + " channels with ratio " +
                      std::to_string(*ctx.se_rd_ratio) + " leaves no channels; raise the block's 'se' ratio");
  }
  se_ = register_module("se", SqueezeExcite(channels, reduced, ctx.se.force_act.value_or(ctx.act), ctx.se.gate));
}

std::int64_t expanded_channels(std::int64_t in_chs, double exp_ratio) {
  return layers::make_divisible(static_cast<double>(in_chs) * exp_ratio);
}

BatchNormAct2d EfficientBlockImpl::add_projection(AnyConv2d& conv, std::int64_t mid, const BlockArgs& args,
                                                  const BlockContext& ctx, const std::string& norm_name) {
  conv = AnyConv2d(*this, "conv_pwl",
                   {.in_channels = mid,
                    .out_channels = ctx.out_chs,
                    .kernel_size = args.pw_kernel_size,
                    .padding = ctx.pad_type});
  return register_module(norm_name, norm_act(ctx, ctx.out_chs, false));
}

DepthwiseSeparableImpl::DepthwiseSeparableImpl(const BlockArgs& args, const BlockContext& ctx)
    : EfficientBlockImpl(ctx, ctx.stride == 1 && ctx.in_chs == ctx.out_chs && !args.noskip) {
  conv_dw_ = AnyConv2d(*this, "conv_dw",
                       {.in_channels = ctx.in_chs,
                        .out_channels = ctx.in_chs,
                        .kernel_size = args.kernel_size,
                        .stride = ctx.stride,
                        .dilation = ctx.dilation,
                        .groups = groups_for(args.group_size.value_or(1), ctx.in_chs),
                        .padding = ctx.pad_type});
  bn1_ = register_module("bn1", norm_act(ctx, ctx.in_chs, true));
  add_se(ctx.in_chs, ctx);
  conv_pw_ = AnyConv2d(*this, "conv_pw",
                       {.in_channels = ctx.in_chs,
                        .out_channels = ctx.out_chs,
                        .kernel_size = args.pw_kernel_size,
                        .padding = ctx.pad_type});
  bn2_ = register_module("bn2", norm_act(ctx, ctx.out_chs, args.type == BlockType::depthwise_separable_act));
}

torch::Tensor DepthwiseSeparableImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = bn1_->forward(conv_dw_(x));
  y = apply_se(y);
  y = bn2_->forward(conv_pw_(y));
  return residual(y, x);
}

InvertedResidualImpl::InvertedResidualImpl(const BlockArgs& args, const BlockContext& ctx)
    : EfficientBlockImpl(ctx, ctx.in_chs == ctx.out_chs && ctx.stride == 1 && !args.noskip) {
  const std::int64_t mid = expanded_channels(ctx.in_chs, args.exp_ratio);
  conv_pw_ = AnyConv2d(*this, "conv_pw",
                       {.in_channels = ctx.in_chs,
                        .out_channels = mid,
                        .kernel_size = args.exp_kernel_size,
                        .padding = ctx.pad_type});
  bn1_ = register_module("bn1", norm_act(ctx, mid, true));
  conv_dw_ = AnyConv2d(*this, "conv_dw",
                       {.in_channels = mid,
                        .out_channels = mid,
                        .kernel_size = args.kernel_size,
                        .stride = ctx.stride,
                        .dilation = ctx.dilation,
                        .groups = groups_for(args.group_size.value_or(1), mid),
                        .padding = ctx.pad_type});
  bn2_ = register_module("bn2", norm_act(ctx, mid, true));
  add_se(mid, ctx);
  bn3_ = add_projection(conv_pwl_, mid, args, ctx, "bn3");
}

torch::Tensor InvertedResidualImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = bn1_->forward(conv_pw_(x));
  y = bn2_->forward(conv_dw_(y));
  y = apply_se(y);
  y = bn3_->forward(conv_pwl_(y));
  return residual(y, x);
}

EdgeResidualImpl::EdgeResidualImpl(const BlockArgs& args, const BlockContext& ctx)
    : EfficientBlockImpl(ctx, ctx.in_chs == ctx.out_chs && ctx.stride == 1 && !args.noskip) {
  // TF's EdgeTPU definitions size the expansion from a forced input width ("fc").
  const std::int64_t mid = expanded_channels(ctx.force_in_chs > 0 ? ctx.force_in_chs : ctx.in_chs, args.exp_ratio);
  conv_exp_ = AnyConv2d(*this, "conv_exp",
                        {.in_channels = ctx.in_chs,
                         .out_channels = mid,
                         .kernel_size = args.kernel_size,
                         .stride = ctx.stride,
                         .dilation = ctx.dilation,
                         .groups = groups_for(args.group_size.value_or(0), mid),
                         .padding = ctx.pad_type});
  bn1_ = register_module("bn1", norm_act(ctx, mid, true));
  add_se(mid, ctx);
  bn2_ = add_projection(conv_pwl_, mid, args, ctx, "bn2");
}

torch::Tensor EdgeResidualImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = bn1_->forward(conv_exp_(x));
  y = apply_se(y);
  y = bn2_->forward(conv_pwl_(y));
  return residual(y, x);
}

ConvBnActImpl::ConvBnActImpl(const BlockArgs& args, const BlockContext& ctx)
    : EfficientBlockImpl(ctx, args.skip && ctx.stride == 1 && ctx.in_chs == ctx.out_chs) {
  conv_ = AnyConv2d(*this, "conv",
                    {.in_channels = ctx.in_chs,
                     .out_channels = ctx.out_chs,
                     .kernel_size = args.kernel_size,
                     .stride = ctx.stride,
                     .dilation = ctx.dilation,
                     .groups = groups_for(args.group_size.value_or(0), ctx.in_chs),
                     .padding = ctx.pad_type});
  bn1_ = register_module("bn1", norm_act(ctx, ctx.out_chs, true));
}

torch::Tensor ConvBnActImpl::forward(const torch::Tensor& x) { return residual(bn1_->forward(conv_(x)), x); }

std::shared_ptr<EfficientBlockImpl> make_block(const BlockArgs& args, const BlockContext& ctx) {
  switch (args.type) {
    case BlockType::depthwise_separable:
    case BlockType::depthwise_separable_act:
      return std::make_shared<DepthwiseSeparableImpl>(args, ctx);
    case BlockType::inverted_residual:
      return std::make_shared<InvertedResidualImpl>(args, ctx);
    case BlockType::edge_residual:
      return std::make_shared<EdgeResidualImpl>(args, ctx);
    case BlockType::conv_bn_act:
      return std::make_shared<ConvBnActImpl>(args, ctx);
  }
  throw ConfigError("unknown block type");
}

}  // namespace autotimm::efficientnet
