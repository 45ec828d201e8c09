#pragma once
// timm's block-string architecture definitions (timm/models/_efficientnet_builder.py): each stage is a list of strings
// such as "ir_r2_k3_s2_e6_c24_se0.25", decoded into one BlockArgs per block after the stage's depth is scaled.
//
//   auto stages = autotimm::efficientnet::decode_arch_def({{"ds_r1_k3_s1_e1_c16_se0.25"},
//                                                          {"ir_r2_k3_s2_e6_c24_se0.25"}}, {1.1});
//   stages[1].size();   // 3: two repeats scaled by 1.1, rounded up over the stage
//
// Tokens after the block type: r<repeats> k<kernel(s)> s<stride> e<expansion> c<out channels> se<ratio> a<kernel(s)>
// (expansion conv) p<kernel(s)> (projection conv) gs<group size> fc<forced in channels>, n{re,r6,hs,sw,mi} (act),
// skip / noskip. Kernel lists ("k3.5.7") make mixed depthwise convolutions (MixNet).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/layers/activations.hpp"

namespace autotimm::efficientnet {

/// timm's block types: ds (DepthwiseSeparableConv), dsa (the same with an activation after the projection and no
/// skip), ir (InvertedResidual), er (EdgeResidual), cn (ConvBnAct).
enum class BlockType { depthwise_separable, depthwise_separable_act, inverted_residual, edge_residual, conv_bn_act };

std::string_view to_string(BlockType type) noexcept;

/// One block's arguments as the string gives them, before the builder scales channels and fixes strides.
struct BlockArgs {
  BlockType type = BlockType::inverted_residual;
  std::int64_t out_chs = 0;
  std::int64_t stride = 1;
  std::optional<layers::Activation> act_layer = {};  ///< unset: the model's activation
  std::vector<std::int64_t> kernel_size = {3};       ///< depthwise kernel (ds, ir), expansion kernel (er), conv (cn)
  std::vector<std::int64_t> exp_kernel_size = {1};   ///< ir's expansion conv ("a")
  std::vector<std::int64_t> pw_kernel_size = {1};    ///< the projection conv ("p")
  double exp_ratio = 1.0;
  double se_ratio = 0.0;  ///< 0: no squeeze-and-excitation
  bool noskip = false;    ///< ds, dsa, ir, er: no residual even where shapes allow one
  bool skip = false;      ///< cn: a residual where shapes allow one ("skip")
  std::int64_t force_in_chs = 0;             ///< er: expansion width computed from this many channels (TF's EdgeTPU)
  std::optional<std::int64_t> group_size = {};  ///< channels per group; unset: the block type's default
};

/// One block string decoded, with its repeat count. ConfigError naming the string for an unknown block type or token,
/// a missing required token, or a value that is not a number.
struct DecodedBlock {
  BlockArgs args;
  std::int64_t repeats = 1;
};
DecodedBlock decode_block_string(std::string_view block);

enum class DepthTrunc { ceil, round };

/// timm's decode_arch_def: the stages' block strings → one BlockArgs per block. `depth_multiplier` holds one value for
/// every stage or one per stage; a stage's repeats are scaled together (ceil or round of the total, then spread back
/// over its strings from the last, as timm). `fix_first_last` keeps the first and last stages unscaled; `group_size`
/// applies to blocks whose string has no "gs".
std::vector<std::vector<BlockArgs>> decode_arch_def(const std::vector<std::vector<std::string>>& arch_def,
                                                    const std::vector<double>& depth_multiplier = {1.0},
                                                    DepthTrunc depth_trunc = DepthTrunc::ceil,
                                                    bool fix_first_last = false,
                                                    std::optional<std::int64_t> group_size = std::nullopt);

/// timm's round_channels: `channels` × multiplier made divisible by `divisor` (make_divisible with round_limit);
/// a multiplier of 0 returns the channels unchanged.
std::int64_t round_channels(double channels, double multiplier = 1.0, std::int64_t divisor = 8,
                            double round_limit = 0.9);

/// Python's round(): to the nearest integer, halves to even (timm's depth scaling and SE widths depend on it).
std::int64_t python_round(double value);

}  // namespace autotimm::efficientnet
