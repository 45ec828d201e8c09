#pragma once
// The pieces of a Swin Transformer private to the family, as timm's swin_transformer.py: the patch embedding with its
// norm, window attention with a relative position bias, the (shifted-)window block, patch merging and the stage.
// Submodule names are timm's: they are the state-dict keys. Everything works on NHWC tensors [B, H, W, C].
//
// timm registers `relative_position_index` and `attn_mask` as non-persistent buffers. LibTorch has no such buffers
// (every registered buffer is in the state dict), so here they are plain tensors, recomputed from the options and
// moved to the input's device on first use: they never appear in state_dict(), as in timm.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "autotimm/layers/mlp.hpp"
#include "autotimm/layers/patch_embed.hpp"

namespace autotimm::swin {

/// (height, width).
using Size2 = std::array<std::int64_t, 2>;

/// timm's nn.LayerNorm default, used by every norm of the family.
inline constexpr double kLayerNormEps = 1e-5;

// ---- window helpers (timm's module-level functions) ----------------------------------------------------------------

/// timm's get_relative_position_index: [Wh·Ww, Wh·Ww] int64, entry (i, j) = (dy + Wh − 1)·(2·Ww − 1) + (dx + Ww − 1)
/// where (dy, dx) = position i − position j, positions in row-major order.
torch::Tensor relative_position_index(Size2 window);

/// timm's window_partition: [B, H, W, C] (H, W multiples of the window) → [B·nW, Wh, Ww, C], windows row-major.
torch::Tensor window_partition(const torch::Tensor& x, Size2 window);
/// timm's window_reverse: the inverse, back to [B, H, W, C].
torch::Tensor window_reverse(const torch::Tensor& windows, Size2 window, std::int64_t height, std::int64_t width);

/// timm's SwinTransformerBlock.get_attn_mask for a padded map of `padded` size: [nW, N, N] float32 with 0 between
/// tokens of the same shift region and −100 between different ones (3 × 3 regions, Python slice semantics kept, so a
/// zero shift along one axis behaves as in timm). Undefined when the shift is zero along both axes.
torch::Tensor shifted_window_mask(Size2 padded, Size2 window, Size2 shift);

/// timm's _calc_window_shift: per axis, a resolution not larger than the window clips the window to it and turns the
/// shift off, unless `always_partition`. Returns (window, shift).
std::pair<Size2, Size2> calc_window_shift(Size2 resolution, Size2 target_window, Size2 target_shift,
                                          bool always_partition);

/// timm's resize_rel_pos_bias_table (timm/layers/pos_embed_rel.py, its default path without scipy): a [(2S−1)², heads]
/// table made for a square window is resampled to [(2·Wh−1)·(2·Ww−1), heads]. The source offsets are spread on a
/// geometric progression that reaches the target's extent (BEiT's scheme), then interpolated linearly (timm's
/// RegularGridInterpolator: clamped at the edges) at the target's integer offsets, in float32. The table comes back
/// unchanged when the sizes already agree. ConfigError when the table is not 2-d or not a square grid; callers that
/// read files turn that into a FormatError naming the file.
torch::Tensor resize_rel_pos_bias_table(const torch::Tensor& table, Size2 new_window);

// ---- modules -------------------------------------------------------------------------------------------------------

struct PatchEmbedOptions {
  Size2 img_size = {224, 224};
  std::int64_t patch_size = 4;
  std::int64_t in_chans = 3;
  std::int64_t embed_dim = 96;
  bool strict_img_size = true;
};

/// timm's PatchEmbed as Swin builds it (norm_layer LayerNorm, output_fmt 'NHWC'): the shared layers::PatchEmbed
/// (`proj`, input checks) plus `norm` over the channels. [B, C, H, W] → [B, H/p, W/p, embed_dim].
class PatchEmbedImpl : public layers::PatchEmbedImpl {
 public:
  explicit PatchEmbedImpl(const PatchEmbedOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(PatchEmbed);

struct WindowAttentionOptions {
  std::int64_t dim = 96;
  std::int64_t num_heads = 3;
  std::optional<std::int64_t> head_dim = {};  ///< unset: dim / num_heads (truncated, as timm)
  Size2 window = {7, 7};
  bool qkv_bias = true;
  double attn_drop = 0.0;
  double proj_drop = 0.0;
};

/// timm's WindowAttention: multi-head self-attention inside each window with a learned relative position bias.
/// Keys: relative_position_bias_table [(2·Wh−1)·(2·Ww−1), heads], qkv.*, proj.*.
class WindowAttentionImpl : public torch::nn::Module {
 public:
  explicit WindowAttentionImpl(const WindowAttentionOptions& options);

  /// `x` [B·nW, N, C]; `mask` [nW, N, N] (0 / −100) or undefined. timm's non-fused path: q·scale @ kᵀ + bias (+ mask)
  /// → softmax → dropout → @ v → proj.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {});
  /// The bias every window adds to its attention logits: [heads, N, N], gathered from the table.
  torch::Tensor relative_position_bias();
  /// The (non-persistent) index the bias is gathered with, [N, N].
  const torch::Tensor& relative_position_index() const noexcept { return index_; }

  const WindowAttentionOptions& options() const noexcept { return options_; }
  torch::Tensor relative_position_bias_table;
  torch::nn::Linear qkv{nullptr};
  torch::nn::Linear proj{nullptr};

 private:
  WindowAttentionOptions options_;
  std::int64_t head_dim_ = 0;
  double scale_ = 1.0;
  torch::Tensor index_;  // int64 [N, N]; follows the table's device
};
TORCH_MODULE(WindowAttention);

struct SwinBlockOptions {
  std::int64_t dim = 96;
  Size2 input_resolution = {56, 56};  ///< the map size the window, shift and static mask are computed for
  std::int64_t num_heads = 3;
  std::optional<std::int64_t> head_dim = {};
  Size2 window_size = {7, 7};  ///< the target window, before clipping to the resolution
  Size2 shift_size = {0, 0};   ///< the target shift: 0, or window / 2 on the odd blocks
  bool always_partition = false;
  bool dynamic_mask = false;  ///< compute the shift mask from each input (timm: not strict_img_size)
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double proj_drop = 0.0;
  double attn_drop = 0.0;
  double drop_path = 0.0;
};

/// timm's SwinTransformerBlock on [B, H, W, C]:
///   x = x + drop_path(reverse_shift(merge(attn(partition(pad(shift(norm1(x))))))))
///   x = x + drop_path(mlp(norm2(x)))
/// Keys: norm1.*, attn.*, norm2.*, mlp.fc1.*, mlp.fc2.*.
class SwinTransformerBlockImpl : public torch::nn::Module {
 public:
  explicit SwinTransformerBlockImpl(const SwinBlockOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  /// The window and shift in use (after timm's _calc_window_shift).
  Size2 window_size() const noexcept { return window_; }
  Size2 shift_size() const noexcept { return shift_; }
  /// The mask computed at construction for input_resolution (undefined without shift or with dynamic_mask).
  const torch::Tensor& attn_mask() const noexcept { return attn_mask_; }
  const SwinBlockOptions& options() const noexcept { return options_; }

  torch::nn::LayerNorm norm1{nullptr};
  WindowAttention attn{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  layers::Mlp mlp{nullptr};

 private:
  torch::Tensor window_attention(const torch::Tensor& x);  // timm's _attn
  torch::Tensor mask_for(Size2 padded, const torch::Tensor& like);

  SwinBlockOptions options_;
  Size2 window_ = {7, 7};
  Size2 shift_ = {0, 0};
  torch::Tensor attn_mask_;  // float32 [nW, N, N] for the padded input_resolution; follows the input's device
  Size2 attn_mask_size_ = {0, 0};
};
TORCH_MODULE(SwinTransformerBlock);

/// timm's PatchMerging: pad H and W to even, gather each 2 × 2 neighbourhood into channels in the order
/// x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2], then `norm` LayerNorm(4C) → `reduction`
/// Linear(4C, out, no bias). [B, H, W, C] → [B, ⌈H/2⌉, ⌈W/2⌉, out].
class PatchMergingImpl : public torch::nn::Module {
 public:
  PatchMergingImpl(std::int64_t dim, std::int64_t out_dim);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear reduction{nullptr};
};
TORCH_MODULE(PatchMerging);

struct SwinStageOptions {
  std::int64_t dim = 96;      ///< input channels
  std::int64_t out_dim = 96;  ///< output channels (dim unless downsample)
  Size2 input_resolution = {56, 56};
  bool downsample = false;  ///< PatchMerging at the start (timm: stages after the first)
  std::int64_t num_heads = 3;
  std::optional<std::int64_t> head_dim = {};
  Size2 window_size = {7, 7};
  bool always_partition = false;
  bool dynamic_mask = false;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double proj_drop = 0.0;
  double attn_drop = 0.0;
  std::vector<double> drop_path = {};  ///< one rate per block: the stage's depth
};

/// timm's SwinTransformerStage: [downsample] then `blocks` (even blocks unshifted, odd ones shifted by window / 2).
/// Keys: downsample.norm.*, downsample.reduction.weight, blocks.N.*.
class SwinTransformerStageImpl : public torch::nn::Module {
 public:
  explicit SwinTransformerStageImpl(const SwinStageOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  PatchMerging downsample{nullptr};  // nullptr: timm's nn.Identity
  std::vector<SwinTransformerBlock> blocks;

 private:
  torch::nn::Sequential blocks_{nullptr};
};
TORCH_MODULE(SwinTransformerStage);

}  // namespace autotimm::swin
