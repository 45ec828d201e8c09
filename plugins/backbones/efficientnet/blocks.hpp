#pragma once
// The layers and blocks of timm's EfficientNet builder (timm/models/_efficientnet_blocks.py, timm/layers'
// create_conv2d, MixedConv2d, Conv2dSame, BatchNormAct2d): convolutions with PyTorch-style or TensorFlow "SAME"
// padding, mixed-kernel depthwise convolutions (MixNet), BatchNorm + activation, squeeze-and-excitation, and the four
// block types. Submodule names are timm's: they are the state-dict keys.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arch_def.hpp"
#include "autotimm/layers/activations.hpp"
#include "autotimm/layers/batch_norm.hpp"

namespace autotimm::efficientnet {

/// timm's pad_type: "" (symmetric, PyTorch style), "same" (TensorFlow SAME: static where stride 1 allows it, else
/// computed per input and asymmetric) or "valid" (none).
enum class PadType { symmetric, same, valid };

struct ConvSpec {
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  std::vector<std::int64_t> kernel_size = {1};  ///< several: a MixedConv2d, one group per kernel
  std::int64_t stride = 1;
  std::int64_t dilation = 1;
  std::int64_t groups = 1;  ///< in_channels makes it depthwise (per group, for a mixed conv)
  PadType padding = PadType::symmetric;
  bool bias = false;
};

/// A torch Conv2d (same keys: weight, bias) that pads each input TensorFlow-style when its padding is dynamic (timm's
/// Conv2dSame), or with a fixed symmetric padding otherwise.
class Conv2dPadImpl : public torch::nn::Conv2dImpl {
 public:
  Conv2dPadImpl(torch::nn::Conv2dOptions options, bool dynamic_same);
  torch::Tensor forward(const torch::Tensor& x);

  bool dynamic_same;
};
TORCH_MODULE(Conv2dPad);

/// timm's MixedConv2d: channels split into one group per kernel size (the first group takes the remainder), each
/// convolved with its own kernel, then concatenated. Keys: 0.weight, 1.weight, …
class MixedConv2dImpl : public torch::nn::Module {
 public:
  explicit MixedConv2dImpl(const ConvSpec& spec);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::vector<Conv2dPad> convs_;
  std::vector<std::int64_t> splits_;
};
TORCH_MODULE(MixedConv2d);

/// timm's create_conv2d: one Conv2dPad for one kernel size, a MixedConv2d for several. Registered by its owner under
/// the given name; a value type so blocks can hold either.
class AnyConv2d {
 public:
  AnyConv2d() = default;
  AnyConv2d(torch::nn::Module& owner, const std::string& name, const ConvSpec& spec);
  torch::Tensor operator()(const torch::Tensor& x);
  explicit operator bool() const noexcept { return conv_ || mixed_; }

 private:
  Conv2dPad conv_{nullptr};
  MixedConv2d mixed_{nullptr};
};

/// timm's BatchNormAct2d: BatchNorm (keys weight, bias, running_mean, running_var, num_batches_tracked) then an
/// activation. Built on the SDK's BatchNorm2d, so sync_batchnorm reaches it.
class BatchNormAct2dImpl : public layers::BatchNorm2dImpl {
 public:
  BatchNormAct2dImpl(layers::BatchNorm2dOptions options, std::optional<layers::Activation> act);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::optional<layers::Activation> act_;  // unset: BatchNorm only (apply_act=False)
};
TORCH_MODULE(BatchNormAct2d);

/// How a squeeze-and-excitation layer is made (timm's se_layer partials).
struct SqueezeExciteSpec {
  layers::Activation gate = layers::Activation::sigmoid;
  std::optional<layers::Activation> force_act = {};  ///< set: this activation instead of the block's
  bool round_to_divisor = false;                     ///< widths by round_channels (MobileNetV3) instead of round()
};

/// timm's efficientnet SqueezeExcite: mean over H, W → conv_reduce (1×1, bias) → act → conv_expand (1×1, bias) →
/// gate, multiplied into the input.
class SqueezeExciteImpl : public torch::nn::Module {
 public:
  SqueezeExciteImpl(std::int64_t channels, std::int64_t reduced_channels, layers::Activation act,
                    layers::Activation gate);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv_reduce{nullptr}, conv_expand{nullptr};

 private:
  layers::Activation act_, gate_;
};
TORCH_MODULE(SqueezeExcite);

/// Everything a block needs beyond its BlockArgs, resolved by the builder.
struct BlockContext {
  std::int64_t in_chs = 0;
  std::int64_t out_chs = 0;       ///< scaled by the model's channel rounding
  std::int64_t force_in_chs = 0;  ///< er: scaled the same way
  std::int64_t stride = 1;        ///< after output_stride
  std::int64_t dilation = 1;
  layers::Activation act = layers::Activation::relu;
  std::optional<double> se_rd_ratio = {};  ///< set: the block has SE with this ratio of its SE input width
  SqueezeExciteSpec se = {};
  PadType pad_type = PadType::symmetric;
  layers::BatchNorm2dOptions norm = {};
  double drop_path_rate = 0.0;
};

/// The base of the four block types, so a stage can hold any of them.
class EfficientBlockImpl : public torch::nn::Module {
 public:
  /// `has_skip`: the block adds its input back (through drop path) when shapes allow and its type wants it.
  EfficientBlockImpl(const BlockContext& ctx, bool has_skip)
      : out_chs_(ctx.out_chs), has_skip_(has_skip), drop_path_rate_(ctx.drop_path_rate) {}
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  std::int64_t out_channels() const noexcept { return out_chs_; }
  bool has_skip() const noexcept { return has_skip_; }

 protected:
  torch::Tensor residual(const torch::Tensor& y, const torch::Tensor& shortcut) const;
  void add_se(std::int64_t channels, const BlockContext& ctx);
  torch::Tensor apply_se(const torch::Tensor& x) { return se_ ? se_->forward(x) : x; }

  /// The 1×1 (or mixed) projection of ir and er blocks: `conv_pwl` from `mid` to out_chs, then `norm_name` without
  /// activation.
  BatchNormAct2d add_projection(AnyConv2d& conv, std::int64_t mid, const BlockArgs& args, const BlockContext& ctx,
                                const std::string& norm_name);

  std::int64_t out_chs_ = 0;
  bool has_skip_ = false;
  double drop_path_rate_ = 0.0;
  SqueezeExcite se_{nullptr};
};

/// timm's DepthwiseSeparableConv (ds, dsa): conv_dw → bn1 (+act) → se → conv_pw → bn2 (+act for dsa) [+ shortcut].
class DepthwiseSeparableImpl : public EfficientBlockImpl {
 public:
  DepthwiseSeparableImpl(const BlockArgs& args, const BlockContext& ctx);
  torch::Tensor forward(const torch::Tensor& x) override;

 private:
  AnyConv2d conv_dw_, conv_pw_;
  BatchNormAct2d bn1_{nullptr}, bn2_{nullptr};
};

/// timm's InvertedResidual (ir): conv_pw → bn1 (+act) → conv_dw → bn2 (+act) → se → conv_pwl → bn3 [+ shortcut].
class InvertedResidualImpl : public EfficientBlockImpl {
 public:
  InvertedResidualImpl(const BlockArgs& args, const BlockContext& ctx);
  torch::Tensor forward(const torch::Tensor& x) override;

 private:
  AnyConv2d conv_pw_, conv_dw_, conv_pwl_;
  BatchNormAct2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
};

/// timm's EdgeResidual (er): conv_exp (full k×k conv) → bn1 (+act) → se → conv_pwl → bn2 [+ shortcut].
class EdgeResidualImpl : public EfficientBlockImpl {
 public:
  EdgeResidualImpl(const BlockArgs& args, const BlockContext& ctx);
  torch::Tensor forward(const torch::Tensor& x) override;

 private:
  AnyConv2d conv_exp_, conv_pwl_;
  BatchNormAct2d bn1_{nullptr}, bn2_{nullptr};
};

/// timm's ConvBnAct (cn): conv → bn1 (+act) [+ shortcut with "skip"].
class ConvBnActImpl : public EfficientBlockImpl {
 public:
  ConvBnActImpl(const BlockArgs& args, const BlockContext& ctx);
  torch::Tensor forward(const torch::Tensor& x) override;

 private:
  AnyConv2d conv_;
  BatchNormAct2d bn1_{nullptr};
};

/// The block `args` names, built with `ctx`.
std::shared_ptr<EfficientBlockImpl> make_block(const BlockArgs& args, const BlockContext& ctx);

/// timm's make_divisible(in_chs × exp_ratio): the expanded width of ir and er blocks.
std::int64_t expanded_channels(std::int64_t in_chs, double exp_ratio);

}  // namespace autotimm::efficientnet
