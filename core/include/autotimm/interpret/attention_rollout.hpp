#pragma once
// Attention Rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"): how much each input patch
// flows into the class token, following the attention of every block with the residual connection added as an
// identity. Class-agnostic: it shows where a ViT looks, not why it chose a class.
//
//   auto maps = autotimm::interpret::attention_rollout(*vit, images, {.head_fusion = "max", .discard_ratio = 0.9});
#include <string>

#include <ATen/core/Tensor.h>

#include "autotimm/backbone.hpp"
#include "autotimm/export.hpp"

namespace autotimm::interpret {

struct AttentionRolloutOptions {
  std::string head_fusion = "mean";  ///< mean, max or min over the heads
  /// Share of each block's lowest (fused) attention weights set to 0 before the identity is added, per image; never
  /// the class token's attention to itself. In [0, 1).
  double discard_ratio = 0.0;
};

/// Attention Rollout (Abnar & Zuidema 2020) over the layers::Attention blocks of a ViT backbone: per block the fused
/// heads A, (A + I) normalised by rows, multiplied through the blocks; the class token's row over the patch tokens
/// (no class token: the mean of the patch tokens' rows), as [N, H, W] in [0, 1] at the input's resolution (the patch
/// grid resized bilinearly, then min-max normalised per image). Runs backbone.forward_features(images) without
/// gradients and in eval mode (the backbone's mode is restored). The patch grid is ceil(H / r) × ceil(W / r) with r
/// the last feature_info stage's reduction (the patch size); the tokens before it are prefix tokens (class, register,
/// distillation), the class token being the first when the backbone has a `cls_token` parameter. ConfigError when the
/// backbone has no attention blocks (a CNN), its attention is windowed (Swin), or an option is unknown.
AUTOTIMM_API at::Tensor attention_rollout(Backbone& backbone, const at::Tensor& images,
                                          const AttentionRolloutOptions& options = {});

}  // namespace autotimm::interpret
