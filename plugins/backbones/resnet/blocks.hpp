#pragma once
// The pieces of timm's ResNet that belong to this family only: BasicBlock and Bottleneck, the shortcut
// ("downsample") builders, the deep stem, and the norm choice. Shared layers come from autotimm/layers/.
//
//   using namespace autotimm::resnet;
//   auto shortcut = downsample_conv({.in_channels = 64, .out_channels = 256}, "layer1.0.downsample");
//   Bottleneck block(BlockOptions{.inplanes = 64, .planes = 64}, shortcut, "layer1.0");   // 64 → 256 channels
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "autotimm/layers/activations.hpp"
#include "autotimm/layers/blur_pool.hpp"

namespace autotimm::resnet {

enum class BlockType { basic, bottleneck };
enum class StemType { single, deep, deep_tiered };  ///< timm's stem_type '', 'deep', 'deep_tiered'
enum class AttnType { none, se, eca };              ///< timm's block_args attn_layer None/'', 'se', 'eca'
enum class NormType { batchnorm, groupnorm };       ///< BatchNorm2d, or timm's GroupNorm with 32 groups

/// The names used in JSON and messages: "basic"/"bottleneck", ""/"deep"/"deep_tiered", ""/"se"/"eca",
/// "batchnorm"/"groupnorm".
std::string_view to_string(BlockType type) noexcept;
std::string_view to_string(StemType type) noexcept;
std::string_view to_string(AttnType type) noexcept;
std::string_view to_string(NormType type) noexcept;

/// Output channels per `planes`: 1 for BasicBlock, 4 for Bottleneck.
std::int64_t block_expansion(BlockType type) noexcept;

/// A sequence of single-tensor modules registered as "0", "1", …, like nn.Sequential, whose forward is an ordinary
/// function, so a Chain can itself sit in an AnyModule (torch::nn::Sequential cannot).
class ChainImpl : public torch::nn::Module {
 public:
  ChainImpl() = default;
  void push_back(torch::nn::AnyModule module);
  torch::Tensor forward(const torch::Tensor& x);
  std::size_t size() const noexcept { return modules_.size(); }

 private:
  std::vector<torch::nn::AnyModule> modules_;
};
TORCH_MODULE(Chain);

/// BatchNorm2d (eps 1e-5, momentum 0.1, running stats) or GroupNorm (32 groups, eps 1e-5). A group count that does
/// not divide `channels` is a ConfigError naming `where`.
torch::nn::AnyModule make_norm(NormType type, std::int64_t channels, std::string_view where);

/// The weight of a norm made by make_norm (for zero_init_last).
torch::Tensor norm_weight(const torch::nn::AnyModule& norm);

/// What make_blocks hands each block in timm.
struct BlockOptions {
  std::int64_t inplanes = 0;
  std::int64_t planes = 0;
  std::int64_t stride = 1;
  std::int64_t cardinality = 1;
  std::int64_t base_width = 64;
  std::int64_t reduce_first = 1;
  std::int64_t dilation = 1;
  std::int64_t first_dilation = 1;  ///< dilation of the block's first spatial conv (the previous block's dilation)
  layers::Activation act_layer = layers::Activation::relu;
  NormType norm_layer = NormType::batchnorm;
  layers::AntiAliasType aa_layer = layers::AntiAliasType::none;
  AttnType attn_layer = AttnType::none;
  double attn_rd_ratio = 1.0 / 16.0;
  double drop_block_rate = 0.0;  ///< 0: no DropBlock
  std::int64_t drop_block_size = 3;
  double drop_block_gamma_scale = 1.0;
  double drop_path_rate = 0.0;  ///< 0: no DropPath
};

/// Two 3×3 convs (ResNet-18/34). Registers conv1, bn1, [drop_block], [aa], conv2, bn2, [se], [downsample],
/// [drop_path] — timm's attribute names and order.
class BasicBlockImpl : public torch::nn::Module {
 public:
  /// `downsample` (or nullptr) maps the input onto the output's shape; `where` ("resnet18 layer2.0") names the block
  /// in messages.
  BasicBlockImpl(BlockOptions options, Chain downsample, const std::string& where);
  torch::Tensor forward(const torch::Tensor& x);
  /// Zeroes bn2's weight, so the block starts as the identity (plus shortcut).
  void zero_init_last();

 private:
  BlockOptions options_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::AnyModule bn1_, bn2_, drop_block_, aa_, se_, drop_path_;
  Chain downsample_{nullptr};
};
TORCH_MODULE(BasicBlock);

/// 1×1 → 3×3 (grouped, strided) → 1×1 with 4× expansion (ResNet-50 and up, ResNeXt). Registers conv1, bn1, conv2,
/// bn2, [drop_block], [aa], conv3, bn3, [se], [downsample], [drop_path].
class BottleneckImpl : public torch::nn::Module {
 public:
  BottleneckImpl(BlockOptions options, Chain downsample, const std::string& where);
  torch::Tensor forward(const torch::Tensor& x);
  /// Zeroes bn3's weight.
  void zero_init_last();

 private:
  BlockOptions options_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::AnyModule bn1_, bn2_, bn3_, drop_block_, aa_, se_, drop_path_;
  Chain downsample_{nullptr};
};
TORCH_MODULE(Bottleneck);

/// What make_blocks hands the shortcut builders in timm.
struct DownsampleOptions {
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  std::int64_t kernel_size = 1;
  std::int64_t stride = 1;
  std::int64_t dilation = 1;
  std::int64_t first_dilation = 1;
  NormType norm_layer = NormType::batchnorm;
};

/// timm's downsample_conv: "0" conv (kernel_size only when it strides or dilates, else 1×1) → "1" norm.
Chain downsample_conv(const DownsampleOptions& options, std::string_view where);

/// timm's downsample_avg: "0" pool (identity, 2×2 average pool, or SAME-padded stride-1 average pool when dilated)
/// → "1" 1×1 conv → "2" norm.
Chain downsample_avg(const DownsampleOptions& options, std::string_view where);

/// timm's deep stem (stem_type 'deep' / 'deep_tiered'): three 3×3 convs, the first with stride 2, as "0" conv,
/// "1" norm, "2" act, "3" conv, "4" norm, "5" act, "6" conv, ending at `out_channels`.
Chain make_deep_stem(std::int64_t in_chans, std::int64_t first_channels, std::int64_t second_channels,
                     std::int64_t out_channels, NormType norm, layers::Activation act, std::string_view where);

}  // namespace autotimm::resnet
