#pragma once
// Integrated Gradients (Sundararajan et al. 2017): the attribution of pixel i is (x_i - x'_i) times the average
// gradient of the score along the straight path from a baseline x' to the image x. The path integral is a trapezoid
// Riemann sum over steps + 1 points alpha = k / steps (k = 0 … steps), so with enough steps the attributions add up
// to score(x) - score(x') ("completeness"); the gap left is reported.
//
//   auto score = autotimm::interpret::classifier_target(model, 3);              // targets.hpp
//   auto ig = autotimm::interpret::integrated_gradients(score, images, {.baseline = BaselineKind::blur});
//   ig.attributions;      // [N, 3, H, W]
//   ig.completeness_gap;  // [N]: sum(attributions) - (score(x) - score(x'))
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"
#include "autotimm/interpret/baselines.hpp"
#include "autotimm/interpret/score_function.hpp"

namespace autotimm::interpret {

struct IntegratedGradientsOptions {
  BaselineKind baseline = BaselineKind::black;
  std::int64_t steps = 32;       ///< intervals of the trapezoid rule: steps + 1 gradient evaluations per image
  std::int64_t batch_size = 16;  ///< path points scored per forward
  BaselineOptions baseline_options = {};  ///< the model's mean and std, blur sigma, random seed
};

struct IntegratedGradientsResult {
  at::Tensor attributions;      ///< [N, 3, H, W] float32
  at::Tensor heatmap;           ///< [N, H, W] in [0, 1]: sum over the channels of |attributions|, min-max scaled
  at::Tensor scores;            ///< [N] score(x)
  at::Tensor baseline_scores;   ///< [N] score(x')
  at::Tensor completeness_gap;  ///< [N] sum(attributions) - (score(x) - score(x'))
};

/// Integrated Gradients of `score` for `images` [N, 3, H, W] (the model's normalised input) from the baseline
/// options.baseline (make_baseline). Each image's path is scored on its own, in batches of copies of that image, so
/// `score` must explain the same target on every row (a fixed class, box or region: targets.hpp builds such).
AUTOTIMM_API IntegratedGradientsResult integrated_gradients(const ScoreFunction& score, const at::Tensor& images,
                                                            const IntegratedGradientsOptions& options = {});

/// The same from an explicit `baselines` tensor of the images' shape.
AUTOTIMM_API IntegratedGradientsResult integrated_gradients(const ScoreFunction& score, const at::Tensor& images,
                                                            const at::Tensor& baselines,
                                                            const IntegratedGradientsOptions& options = {});

/// The heatmap of attributions [N, 3, H, W]: sum over the channels of the absolute values, each map min-max scaled
/// to [0, 1].
AUTOTIMM_API at::Tensor attribution_heatmap(const at::Tensor& attributions);

}  // namespace autotimm::interpret
