#include "blocks.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "autotimm/error.hpp"
#include "autotimm/layers/drop.hpp"
#include "autotimm/layers/weight_init.hpp"

namespace autotimm::swin {
namespace {

// Python's [start:stop] on an axis of `length`, for the shift-region slices: negative bounds count from the end, and
// -0 is 0 (so a zero shift gives timm's empty middle band and a last band covering the whole axis).
struct Range {
  std::int64_t begin, end;
};

Range python_slice(std::int64_t start, std::optional<std::int64_t> stop, std::int64_t length) {
  const auto wrap = [length](std::int64_t i) { return std::clamp(i < 0 ? i + length : i, std::int64_t{0}, length); };
  const std::int64_t begin = wrap(start);
  const std::int64_t end = stop ? wrap(*stop) : length;
  return {begin, std::max(begin, end)};
}

// The three bands timm slices each axis into: (0, -window), (-window, -shift), (-shift, None).
std::array<Range, 3> shift_bands(std::int64_t length, std::int64_t window, std::int64_t shift) {
  return {python_slice(0, -window, length), python_slice(-window, -shift, length),
          python_slice(-shift, std::nullopt, length)};
}

}  // namespace

// ---- window helpers ------------------------------------------------------------------------------------------------

torch::Tensor relative_position_index(Size2 window) {
  const auto [wh, ww] = window;
  // Row-major positions (y, x) of the window's tokens; differences shifted to start at 0, rows weighted by the width
  // of the offset grid.
  const auto ys = torch::arange(wh, torch::kLong).repeat_interleave(ww);
  const auto xs = torch::arange(ww, torch::kLong).repeat({wh});
  const auto dy = ys.unsqueeze(1) - ys.unsqueeze(0) + (wh - 1);
  const auto dx = xs.unsqueeze(1) - xs.unsqueeze(0) + (ww - 1);
  return (dy * (2 * ww - 1) + dx).contiguous();
}

torch::Tensor window_partition(const torch::Tensor& x, Size2 window) {
  const auto [wh, ww] = window;
  const std::int64_t batch = x.size(0), height = x.size(1), width = x.size(2), channels = x.size(3);
  return x.reshape({batch, height / wh, wh, width / ww, ww, channels})
      .permute({0, 1, 3, 2, 4, 5})
      .contiguous()
      .view({-1, wh, ww, channels});
}

torch::Tensor window_reverse(const torch::Tensor& windows, Size2 window, std::int64_t height, std::int64_t width) {
  const auto [wh, ww] = window;
  const std::int64_t channels = windows.size(-1);
  return windows.reshape({-1, height / wh, width / ww, wh, ww, channels})
      .permute({0, 1, 3, 2, 4, 5})
      .contiguous()
      .view({-1, height, width, channels});
}

torch::Tensor shifted_window_mask(Size2 padded, Size2 window, Size2 shift) {
  if (shift[0] == 0 && shift[1] == 0) return {};
  auto regions = torch::zeros({1, padded[0], padded[1], 1});
  float label = 0.0f;
  for (const auto& rows : shift_bands(padded[0], window[0], shift[0])) {
    for (const auto& cols : shift_bands(padded[1], window[1], shift[1])) {
      regions.slice(1, rows.begin, rows.end).slice(2, cols.begin, cols.end).fill_(label);
      label += 1.0f;
    }
  }
  const auto per_window = window_partition(regions, window).view({-1, window[0] * window[1]});
  const auto difference = per_window.unsqueeze(1) - per_window.unsqueeze(2);  // [nW, N, N]
  return torch::zeros_like(difference).masked_fill(difference != 0, -100.0);
}

std::pair<Size2, Size2> calc_window_shift(Size2 resolution, Size2 target_window, Size2 target_shift,
                                          bool always_partition) {
  if (always_partition) return {target_window, target_shift};
  Size2 window{}, shift{};
  for (std::size_t axis = 0; axis < 2; ++axis) {
    const bool fits = resolution[axis] <= target_window[axis];
    window[axis] = fits ? resolution[axis] : target_window[axis];
    shift[axis] = fits ? 0 : target_shift[axis];
  }
  return {window, shift};
}

// ---- PatchEmbed ----------------------------------------------------------------------------------------------------

PatchEmbedImpl::PatchEmbedImpl(const PatchEmbedOptions& o)
    : layers::PatchEmbedImpl(layers::PatchEmbedOptions{.img_size = o.img_size,
                                                       .patch_size = o.patch_size,
                                                       .in_chans = o.in_chans,
                                                       .embed_dim = o.embed_dim,
                                                       .strict_img_size = o.strict_img_size,
                                                       .output_nhwc = true}) {
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.embed_dim}).eps(kLayerNormEps)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& x) {
  return norm->forward(layers::PatchEmbedImpl::forward(x));
}

// ---- WindowAttention -----------------------------------------------------------------------------------------------

WindowAttentionImpl::WindowAttentionImpl(const WindowAttentionOptions& options) : options_(options) {
  const auto& o = options_;
  head_dim_ = o.head_dim.value_or(o.dim / o.num_heads);
  const std::int64_t attn_dim = head_dim_ * o.num_heads;
  scale_ = std::pow(static_cast<double>(head_dim_), -0.5);
  const auto [wh, ww] = o.window;
  // The table is the module's own parameter: it precedes qkv and proj in the state dict, as in timm.
  relative_position_bias_table =
      register_parameter("relative_position_bias_table", torch::zeros({(2 * wh - 1) * (2 * ww - 1), o.num_heads}));
  index_ = swin::relative_position_index(o.window);
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(o.dim, attn_dim * 3).bias(o.qkv_bias)));
  proj = register_module("proj", torch::nn::Linear(attn_dim, o.dim));
  layers::trunc_normal_(relative_position_bias_table, 0.0, 0.02);
}

torch::Tensor WindowAttentionImpl::relative_position_bias() {
  const auto device = relative_position_bias_table.device();
  if (index_.device() != device) index_ = index_.to(device);
  const std::int64_t n = index_.size(0);
  return relative_position_bias_table.index_select(0, index_.view({-1}))
      .view({n, n, -1})
      .permute({2, 0, 1})
      .contiguous();
}

torch::Tensor WindowAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  const std::int64_t windows = x.size(0), tokens = x.size(1), heads = options_.num_heads;
  const auto qkv_out = qkv->forward(x).reshape({windows, tokens, 3, heads, -1}).permute({2, 0, 3, 1, 4});
  const auto q = qkv_out[0] * scale_;
  const auto k = qkv_out[1];
  const auto v = qkv_out[2];
  torch::Tensor attn = q.matmul(k.transpose(-2, -1)) + relative_position_bias().unsqueeze(0);
  if (mask.defined()) {
    const std::int64_t num_windows = mask.size(0);
    attn = (attn.view({-1, num_windows, heads, tokens, tokens}) + mask.unsqueeze(1).unsqueeze(0))
               .view({-1, heads, tokens, tokens});
  }
  attn = attn.softmax(-1);
  if (options_.attn_drop > 0.0) attn = torch::dropout(attn, options_.attn_drop, is_training());
  torch::Tensor y = proj->forward(attn.matmul(v).transpose(1, 2).reshape({windows, tokens, -1}));
  if (options_.proj_drop > 0.0) y = torch::dropout(y, options_.proj_drop, is_training());
  return y;
}

// ---- SwinTransformerBlock ------------------------------------------------------------------------------------------

SwinTransformerBlockImpl::SwinTransformerBlockImpl(const SwinBlockOptions& options) : options_(options) {
  const auto& o = options_;
  std::tie(window_, shift_) = calc_window_shift(o.input_resolution, o.window_size, o.shift_size, o.always_partition);
  const auto norm = torch::nn::LayerNormOptions({o.dim}).eps(kLayerNormEps);
  norm1 = register_module("norm1", torch::nn::LayerNorm(norm));
  attn = register_module("attn", WindowAttention(WindowAttentionOptions{.dim = o.dim,
                                                                         .num_heads = o.num_heads,
                                                                         .head_dim = o.head_dim,
                                                                         .window = window_,
                                                                         .qkv_bias = o.qkv_bias,
                                                                         .attn_drop = o.attn_drop,
                                                                         .proj_drop = o.proj_drop}));
  norm2 = register_module("norm2", torch::nn::LayerNorm(norm));
  // Python's int(dim * mlp_ratio) truncates toward zero.
  const auto hidden = static_cast<std::int64_t>(static_cast<double>(o.dim) * o.mlp_ratio);
  mlp = register_module("mlp", layers::Mlp(layers::MlpOptions{.in_features = o.dim,
                                                               .hidden_features = hidden,
                                                               .act_layer = layers::Activation::gelu,
                                                               .drop = o.proj_drop}));
  if (!o.dynamic_mask) {
    // timm's static mask: for input_resolution padded up to whole windows.
    const Size2 padded = {(o.input_resolution[0] + window_[0] - 1) / window_[0] * window_[0],
                          (o.input_resolution[1] + window_[1] - 1) / window_[1] * window_[1]};
    attn_mask_ = shifted_window_mask(padded, window_, shift_);
    attn_mask_size_ = padded;
  }
}

torch::Tensor SwinTransformerBlockImpl::mask_for(Size2 padded, const torch::Tensor& like) {
  if (shift_[0] == 0 && shift_[1] == 0) return {};
  // The mask depends only on the padded size: reuse it while that holds. timm's static mask would fail on a map whose
  // padded size differs from input_resolution's; that case (and dynamic_mask) gets the mask of the actual size.
  if (!attn_mask_.defined() || attn_mask_size_ != padded) {
    attn_mask_ = shifted_window_mask(padded, window_, shift_);
    attn_mask_size_ = padded;
  }
  if (attn_mask_.device() != like.device() || attn_mask_.scalar_type() != like.scalar_type()) {
    attn_mask_ = attn_mask_.to(like.options());
  }
  return attn_mask_;
}

torch::Tensor SwinTransformerBlockImpl::window_attention(const torch::Tensor& x) {
  const std::int64_t height = x.size(1), width = x.size(2), channels = x.size(3);
  const bool shifted = shift_[0] != 0 || shift_[1] != 0;
  // Cyclic shift up and left, then pad bottom and right to whole windows.
  torch::Tensor y = shifted ? torch::roll(x, {-shift_[0], -shift_[1]}, {1, 2}) : x;
  const std::int64_t pad_h = (window_[0] - height % window_[0]) % window_[0];
  const std::int64_t pad_w = (window_[1] - width % window_[1]) % window_[1];
  if (pad_h || pad_w) y = torch::constant_pad_nd(y, {0, 0, 0, pad_w, 0, pad_h}, 0.0);
  const std::int64_t padded_h = height + pad_h, padded_w = width + pad_w;

  const auto windows = window_partition(y, window_).view({-1, window_[0] * window_[1], channels});
  const auto attended = attn->forward(windows, mask_for({padded_h, padded_w}, windows));
  y = window_reverse(attended.view({-1, window_[0], window_[1], channels}), window_, padded_h, padded_w);
  y = y.slice(1, 0, height).slice(2, 0, width).contiguous();
  return shifted ? torch::roll(y, {shift_[0], shift_[1]}, {1, 2}) : y;
}

torch::Tensor SwinTransformerBlockImpl::forward(const torch::Tensor& x) {
  const bool training = is_training();
  torch::Tensor y = x + layers::drop_path(window_attention(norm1->forward(x)), options_.drop_path, training);
  return y + layers::drop_path(mlp->forward(norm2->forward(y)), options_.drop_path, training);
}

// ---- PatchMerging --------------------------------------------------------------------------------------------------

PatchMergingImpl::PatchMergingImpl(std::int64_t dim, std::int64_t out_dim) {
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({4 * dim}).eps(kLayerNormEps)));
  reduction = register_module("reduction", torch::nn::Linear(torch::nn::LinearOptions(4 * dim, out_dim).bias(false)));
}

torch::Tensor PatchMergingImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = x;
  if (x.size(1) % 2 || x.size(2) % 2) y = torch::constant_pad_nd(y, {0, 0, 0, x.size(2) % 2, 0, x.size(1) % 2}, 0.0);
  const std::int64_t batch = y.size(0), height = y.size(1), width = y.size(2), channels = y.size(3);
  // [B, H/2, 2 (row offset), W/2, 2 (column offset), C] → [B, H/2, W/2, column offset, row offset, C]: the row offset
  // varies fastest among the four neighbours.
  y = y.reshape({batch, height / 2, 2, width / 2, 2, channels}).permute({0, 1, 3, 4, 2, 5}).flatten(3);
  return reduction->forward(norm->forward(y));
}

// ---- SwinTransformerStage ------------------------------------------------------------------------------------------

SwinTransformerStageImpl::SwinTransformerStageImpl(const SwinStageOptions& o) {
  if (o.downsample) downsample = register_module("downsample", PatchMerging(o.dim, o.out_dim));
  // The blocks run at the merged resolution (timm floors it; PatchMerging pads odd maps, see mask_for).
  const Size2 resolution =
      o.downsample ? Size2{o.input_resolution[0] / 2, o.input_resolution[1] / 2} : o.input_resolution;
  const Size2 shift = {o.window_size[0] / 2, o.window_size[1] / 2};
  blocks_ = torch::nn::Sequential();
  for (std::size_t i = 0; i < o.drop_path.size(); ++i) {
    blocks.push_back(SwinTransformerBlock(SwinBlockOptions{.dim = o.out_dim,
                                                            .input_resolution = resolution,
                                                            .num_heads = o.num_heads,
                                                            .head_dim = o.head_dim,
                                                            .window_size = o.window_size,
                                                            .shift_size = i % 2 == 0 ? Size2{0, 0} : shift,
                                                            .always_partition = o.always_partition,
                                                            .dynamic_mask = o.dynamic_mask,
                                                            .mlp_ratio = o.mlp_ratio,
                                                            .qkv_bias = o.qkv_bias,
                                                            .proj_drop = o.proj_drop,
                                                            .attn_drop = o.attn_drop,
                                                            .drop_path = o.drop_path[i]}));
    blocks_->push_back(blocks.back());
  }
  register_module("blocks", blocks_);
}

torch::Tensor SwinTransformerStageImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = downsample ? downsample->forward(x) : x;
  for (auto& block : blocks) y = block->forward(y);
  return y;
}

}  // namespace autotimm::swin
