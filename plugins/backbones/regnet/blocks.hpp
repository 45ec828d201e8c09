#pragma once
// The pieces of a RegNet private to the family, as timm's regnet.py: ConvNormAct (conv → norm → act, timm's
// `conv`/`bn` keys), the shortcut builders (downsample_conv, downsample_avg), the post-activation Bottleneck (RegNet
// X/Y/Z), the pre-activation PreBottleneck (RegNetV) and the stage (blocks `b1`, `b2`, …). Submodule names are timm's:
// they are the state-dict keys.
//
//   using namespace autotimm::regnet;
//   Bottleneck block(BlockOptions{.in_chs = 32, .out_chs = 48, .stride = 2, .group_size = 8, .se_ratio = 0.25},
//                    "regnety_002 s1.b1");                          // conv1, conv2 (6 groups), se, conv3, downsample
//   torch::Tensor y = block(x);                                     // [N, 32, H, W] → [N, 48, H/2, W/2]
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "autotimm/layers/activations.hpp"
#include "autotimm/layers/squeeze_excite.hpp"

namespace autotimm::regnet {

/// timm's RegNetCfg.downsample: the shortcut of a block that changes width or resolution. `none` (timm's None or
/// ''): no shortcut at all there (RegNet-Z); blocks that keep the shape still add their input.
enum class Downsample { none, conv1x1, avg };

/// timm's RegNetCfg.norm_layer choices built here: BatchNorm2d (eps 1e-5), or GroupNorm (eps 1e-5) with 32 groups,
/// or with groups of `group_size` channels when one is given (regnety_040_sgn's GroupNormAct(group_size=16)).
enum class NormLayer { batchnorm, groupnorm };

/// The names used in JSON and messages: "" / "conv1x1" / "avg"; "batchnorm" / "groupnorm".
std::string_view to_string(Downsample type) noexcept;
std::string_view to_string(NormLayer type) noexcept;

struct NormSpec {
  NormLayer layer = NormLayer::batchnorm;
  std::optional<std::int64_t> group_size = {};  ///< GroupNorm only: channels per group; unset: 32 groups
};

/// The norm module itself (the SDK's BatchNorm2d, or GroupNorm), for the caller to register under timm's name. A
/// group layout that does not divide `channels` is a ConfigError naming `where`.
torch::nn::AnyModule make_norm(const NormSpec& norm, std::int64_t channels, const std::string& where);

/// The weight of a norm made by make_norm.
torch::Tensor norm_weight(const torch::nn::AnyModule& norm);

struct ConvNormActOptions {
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  std::int64_t kernel_size = 1;
  std::int64_t stride = 1;
  std::int64_t dilation = 1;
  std::int64_t groups = 1;
  NormSpec norm = {};
  bool apply_act = true;  ///< false: conv → norm only (conv3, the shortcut)
  layers::Activation act_layer = layers::Activation::relu;
};

/// timm's ConvNormAct: a bias-free conv with symmetric padding ((stride − 1) + dilation × (k − 1)) / 2, then a norm
/// with the activation fused in (BatchNormAct2d / GroupNormAct). Keys: conv.weight, bn.* (the norm's).
class ConvNormActImpl : public torch::nn::Module {
 public:
  ConvNormActImpl(ConvNormActOptions options, const std::string& where);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor norm_weight() const;

  ConvNormActOptions options;
  torch::nn::Conv2d conv{nullptr};

 private:
  torch::nn::AnyModule bn_;
};
TORCH_MODULE(ConvNormAct);

/// What RegStage hands each block in timm.
struct BlockOptions {
  std::int64_t in_chs = 0;
  std::int64_t out_chs = 0;
  std::int64_t stride = 1;
  std::int64_t first_dilation = 1;  ///< dilation of conv2 (timm's dilation[0])
  std::int64_t dilation = 1;        ///< the stage's dilation (timm's dilation[1]); a mismatch needs a shortcut
  double bottle_ratio = 1.0;        ///< bottleneck width = round(out_chs × bottle_ratio)
  std::int64_t group_size = 1;      ///< channels per group of conv2
  double se_ratio = 0.0;            ///< 0: no SE; else SE with round(in_chs × se_ratio) reduction channels
  Downsample downsample = Downsample::conv1x1;
  bool linear_out = false;  ///< no activation after the residual add (Bottleneck only)
  layers::Activation act_layer = layers::Activation::relu;
  NormSpec norm = {};
  double drop_path_rate = 0.0;
};

/// The bottleneck width and conv2 groups of a block, as timm: round(out_chs × bottle_ratio) and width // group_size.
std::int64_t bottleneck_channels(const BlockOptions& options);
/// SE reduction channels, as timm: round(in_chs × se_ratio) (Python's round: half to even).
std::int64_t se_channels(const BlockOptions& options);

/// timm's Bottleneck (RegNet X/Y/Z): conv1 (1×1 ConvNormAct) → conv2 (3×3 grouped, strided ConvNormAct) → [se] →
/// conv3 (1×1, no act) → [+ downsample(x), with drop path on the branch] → act3 (none with linear_out).
/// Keys in timm's order: conv1.*, conv2.*, se.fc1/fc2.*, conv3.*, downsample.* (conv1x1: .conv/.bn; avg: .1.conv/.1.bn).
class BottleneckImpl : public torch::nn::Module {
 public:
  /// `where` ("regnety_040 s2.b1") names the block in messages.
  BottleneckImpl(BlockOptions options, const std::string& where);
  torch::Tensor forward(const torch::Tensor& x);
  /// Zeroes conv3's norm weight, so the residual branch starts at zero (timm's zero_init_last).
  void zero_init_last();

  BlockOptions options;

 private:
  ConvNormAct conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  layers::SEModule se_{nullptr};
  bool has_shortcut_ = true;        // false: timm's downsample None, no residual add
  torch::nn::AnyModule downsample_;  // empty with an identity shortcut
};
TORCH_MODULE(Bottleneck);

/// timm's PreBottleneck (RegNet-V): norm1 (+act) → [shortcut taken here] → conv1 → norm2 (+act) → conv2 → [se] →
/// norm3 (+act) → conv3 → [+ downsample(shortcut)]. Plain convs (no bias); no activation after the add. Keys: norm1.*,
/// conv1.weight, norm2.*, conv2.weight, se.*, norm3.*, conv3.weight, downsample.* (conv1x1: .weight; avg: .1.weight).
class PreBottleneckImpl : public torch::nn::Module {
 public:
  PreBottleneckImpl(BlockOptions options, const std::string& where);
  torch::Tensor forward(const torch::Tensor& x);

  BlockOptions options;

 private:
  torch::nn::AnyModule norm1_, norm2_, norm3_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  layers::SEModule se_{nullptr};
  bool has_shortcut_ = true;
  torch::nn::AnyModule downsample_;
};
TORCH_MODULE(PreBottleneck);

struct StageOptions {
  std::int64_t depth = 1;
  std::int64_t in_chs = 0;
  std::int64_t stride = 2;
  std::int64_t dilation = 1;
  bool preact = false;                       ///< PreBottleneck blocks instead of Bottleneck
  std::vector<double> drop_path_rates = {};  ///< one per block
  BlockOptions block = {};  ///< out_chs, bottle_ratio, group_size, se_ratio, downsample, linear_out, act, norm
};

/// timm's RegStage: blocks registered as b1 … bN; the first takes in_chs and the stride, later ones keep the width.
/// The first block's conv2 dilation is 1 when the stage dilates by 1 or 2, else 2 (timm's first_dilation).
class RegStageImpl : public torch::nn::Module {
 public:
  RegStageImpl(StageOptions options, const std::string& where);
  torch::Tensor forward(const torch::Tensor& x);
  /// timm's zero_init_last over the stage's Bottlenecks (a no-op for PreBottleneck, as in timm).
  void zero_init_last();

  StageOptions options;

 private:
  std::vector<torch::nn::AnyModule> blocks_;
  std::vector<Bottleneck> bottlenecks_;
};
TORCH_MODULE(RegStage);

}  // namespace autotimm::regnet
