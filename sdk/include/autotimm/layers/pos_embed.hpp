#pragma once
// Resampling a learned absolute position embedding to another token grid, as timm's layers/pos_embed.py
// resample_abs_pos_embed: the prefix tokens (class, register, distillation) are kept as they are, the grid part is
// interpolated bicubically. timm uses it when a checkpoint's grid differs from the model's (checkpoint_filter_fn)
// and, with dynamic_img_size, on every forward.
//
//   // a 224 / 16 checkpoint (1 + 14·14 tokens) for a 384 / 16 model (1 + 24·24 tokens)
//   auto resized = autotimm::layers::resample_abs_pos_embed(pos_embed, {24, 24}, std::nullopt, 1);
#include <array>
#include <cstdint>
#include <optional>

#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"

namespace autotimm::layers {

/// `posemb` is [1, prefix + H·W, C]; returns [1, prefix + new_h·new_w, C] in posemb's dtype, interpolated in float32.
/// `old_size` unset means a square grid (the integer square root of the grid tokens). `antialias` true is timm's
/// default for both uses: PyTorch's antialiased bicubic kernel (a = -0.5, as PIL) rather than the plain one
/// (a = -0.75), which gives different values even when upsampling. As timm, the input comes back unchanged when the
/// token count already matches and the new grid is square. ConfigError when the sizes do not fit the token count.
AUTOTIMM_API at::Tensor resample_abs_pos_embed(const at::Tensor& posemb, std::array<std::int64_t, 2> new_size,
                                               std::optional<std::array<std::int64_t, 2>> old_size,
                                               std::int64_t num_prefix_tokens, bool antialias = true);

}  // namespace autotimm::layers
