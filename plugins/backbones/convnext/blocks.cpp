#include "blocks.hpp"

#include <torch/torch.h>

#include "autotimm/layers/drop.hpp"
#include "autotimm/layers/helpers.hpp"

namespace autotimm::convnext {

// ---- Mlp ----------------------------------------------------------------------------------------------------------

MlpImpl::MlpImpl(MlpOptions options_) : options(options_) {
  const auto& o = options;
  if (o.use_conv) {
    conv_fc1_ =
        register_module("fc1", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in_features, o.hidden_features, 1)));
  } else {
    linear_fc1_ = register_module("fc1", torch::nn::Linear(o.in_features, o.hidden_features));
  }
  // GRN reduces over the spatial dims: where they are depends on the layout the MLP runs in.
  if (o.use_grn) {
    grn_ = register_module("grn", layers::GlobalResponseNorm(layers::GlobalResponseNormOptions{
                                      .dim = o.hidden_features, .channels_last = !o.use_conv}));
  }
  if (o.use_conv) {
    conv_fc2_ =
        register_module("fc2", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.hidden_features, o.in_features, 1)));
  } else {
    linear_fc2_ = register_module("fc2", torch::nn::Linear(o.hidden_features, o.in_features));
  }
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = options.use_conv ? conv_fc1_->forward(x) : linear_fc1_->forward(x);
  y = layers::apply_activation(options.act_layer, y);
  if (grn_) y = grn_->forward(y);
  return options.use_conv ? conv_fc2_->forward(y) : linear_fc2_->forward(y);
}

// ---- ConvNeXtBlock ------------------------------------------------------------------------------------------------

ConvNeXtBlockImpl::ConvNeXtBlockImpl(BlockOptions options_) : options(options_) {
  const auto& o = options;
  // The block's own parameter comes first in timm's state dict (module parameters precede submodules).
  if (o.ls_init_value) gamma_ = register_parameter("gamma", torch::full({o.channels}, *o.ls_init_value));
  conv_dw_ =
      register_module("conv_dw", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.channels, o.channels, o.kernel_size)
                                                       .padding(layers::get_padding(o.kernel_size, 1, o.dilation))
                                                       .dilation(o.dilation)
                                                       .groups(o.channels)
                                                       .bias(o.conv_bias)));
  if (o.conv_mlp) {
    norm2d_ = register_module(
        "norm", layers::LayerNorm2d(layers::LayerNorm2dOptions{.num_channels = o.channels, .eps = o.norm_eps}));
  } else {
    norm_last_ =
        register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.channels}).eps(o.norm_eps)));
  }
  mlp_ = register_module("mlp", Mlp(MlpOptions{.in_features = o.channels,
                                               .hidden_features = 4 * o.channels,  // timm's mlp_ratio 4
                                               .use_conv = o.conv_mlp,
                                               .use_grn = o.use_grn,
                                               .act_layer = o.act_layer}));
}

torch::Tensor ConvNeXtBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = conv_dw_->forward(x);
  if (options.conv_mlp) {
    y = mlp_->forward(norm2d_->forward(y));
  } else {
    y = mlp_->forward(norm_last_->forward(y.permute({0, 2, 3, 1}))).permute({0, 3, 1, 2});
  }
  if (gamma_.defined()) y = y.mul(gamma_.reshape({1, -1, 1, 1}));
  return layers::drop_path(y, options.drop_path, is_training()) + x;
}

// ---- ConvNeXtStage ------------------------------------------------------------------------------------------------

ConvNeXtStageImpl::ConvNeXtStageImpl(StageOptions options_) : options(std::move(options_)) {
  const auto& o = options;
  const bool resamples = o.stride > 1 || o.first_dilation != o.dilation;
  if (o.in_channels != o.out_channels || resamples) {
    const std::int64_t kernel = resamples ? 2 : 1;
    // timm asks for 'same' padding when the stage dilates: static where it can be symmetric, else per input.
    std::int64_t padding = 0;
    if (o.dilation > 1) {
      if (o.stride == 1 && (o.first_dilation * (kernel - 1)) % 2 == 0) {
        padding = layers::get_padding(kernel, 1, o.first_dilation);
      } else {
        same_padding_ = true;
      }
    }
    torch::nn::Sequential down;
    downsample_norm_ =
        layers::LayerNorm2d(layers::LayerNorm2dOptions{.num_channels = o.in_channels, .eps = o.block.norm_eps});
    downsample_conv_ = torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in_channels, o.out_channels, kernel)
                                             .stride(o.stride)
                                             .dilation(o.first_dilation)
                                             .padding(padding)
                                             .bias(o.block.conv_bias));
    down->push_back(downsample_norm_);
    down->push_back(downsample_conv_);
    register_module("downsample", down);
  }
  blocks_ = torch::nn::Sequential();
  for (const double rate : o.drop_path_rates) {
    BlockOptions block = o.block;
    block.channels = o.out_channels;
    block.kernel_size = o.kernel_size;
    block.dilation = o.dilation;
    block.drop_path = rate;
    blocks_->push_back(ConvNeXtBlock(block));
  }
  register_module("blocks", blocks_);
}

torch::Tensor ConvNeXtStageImpl::downsample(const torch::Tensor& x) {
  if (!downsample_conv_) return x;
  torch::Tensor y = downsample_norm_->forward(x);
  if (same_padding_) {
    // The dilated downsample runs at stride 1 with kernel 2: pad by (kernel - 1) · dilation, less before than after.
    const std::int64_t kernel = 2, dilation = options.first_dilation;
    const std::int64_t pad_h = layers::get_same_padding(y.size(2), kernel, 1, dilation);
    const std::int64_t pad_w = layers::get_same_padding(y.size(3), kernel, 1, dilation);
    y = torch::constant_pad_nd(y, {pad_w / 2, pad_w - pad_w / 2, pad_h / 2, pad_h - pad_h / 2}, 0.0);
  }
  return downsample_conv_->forward(y);
}

torch::Tensor ConvNeXtStageImpl::forward(const torch::Tensor& x) { return blocks_->forward(downsample(x)); }

}  // namespace autotimm::convnext
