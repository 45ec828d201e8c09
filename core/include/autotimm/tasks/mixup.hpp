#pragma once
// Mixup and CutMix on a batch, as timm's Mixup in "batch" mode: one lambda per batch, drawn from Beta(alpha, alpha);
// mixup blends each image with the batch's reverse, cutmix pastes a box of the reversed batch whose area is
// 1 - lambda (lambda then corrected to the clipped box). Targets become soft: lambda * one_hot(y) +
// (1 - lambda) * one_hot(y reversed). Label smoothing is left to the loss (it is linear, so smoothing the mixed target
// equals mixing smoothed targets, as timm does it).
#include <cstdint>

#include <torch/types.h>

#include "autotimm/data/random.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct MixupOptions {
  double mixup_alpha = 0.0;
  double cutmix_alpha = 0.0;
  double prob = 1.0;         ///< probability that a batch is mixed
  double switch_prob = 0.5;  ///< with both alphas: probability of cutmix
  std::int64_t num_classes = 0;
  bool enabled() const noexcept { return (mixup_alpha > 0.0 || cutmix_alpha > 0.0) && prob > 0.0; }
};

struct MixedBatch {
  torch::Tensor images;
  torch::Tensor targets;  ///< soft [N, C] when mixed; the input targets otherwise
  bool mixed = false;
  double lambda = 1.0;
};

/// A Beta(a, b) draw from `rng` (two Gamma draws, Marsaglia and Tsang).
AUTOTIMM_API double sample_beta(SampleRng& rng, double a, double b);

/// Mixes `images` [N, C, H, W] and `targets` (int64 [N] or float [N, C]) with draws from `rng`.
AUTOTIMM_API MixedBatch mix_batch(const torch::Tensor& images, const torch::Tensor& targets, const MixupOptions& options,
                     SampleRng& rng);

}  // namespace autotimm
