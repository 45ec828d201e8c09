#pragma once
// Judging explanations without ground truth: the deletion and insertion curves (Petsiuk et al. 2018, RISE) ask whether
// the pixels a heatmap ranks first are the ones the model needs; the pointing game (Zhang et al. 2016) asks whether
// the heatmap's peak lies on the annotated object.
//
//   auto del = autotimm::interpret::deletion_curve(score, image, heat, baseline);    // del.auc: lower is better
//   bool hit = autotimm::interpret::pointing_game_hit(heat, {x1, y1, x2, y2}, H, W);
#include <array>
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"
#include "autotimm/interpret/score_function.hpp"

namespace autotimm::interpret {

struct PerturbationOptions {
  std::int64_t steps = 20;       ///< pixels changed in this many equal steps: the curve has steps + 1 points
  std::int64_t batch_size = 16;  ///< perturbed images scored per forward
};

struct PerturbationCurve {
  std::vector<double> fractions = {};  ///< 0 … 1, of the pixels changed
  std::vector<double> scores = {};
  double auc = 0.0;                    ///< trapezoid area under scores over fractions
};

/// Deletion: `image` [3, H, W] (normalised) loses its pixels to `baseline` [3, H, W] in decreasing order of `heatmap`
/// ([h, w], resized bilinearly to H × W when different); `score` is evaluated (without gradients) after each step.
/// A good explanation makes the score drop fast: low AUC. Ties in the heatmap are broken by pixel index (row-major),
/// so curves are deterministic. Step k changes round(k · H·W / steps) pixels. ConfigError on mismatched shapes or
/// steps / batch_size < 1.
AUTOTIMM_API PerturbationCurve deletion_curve(const ScoreFunction& score, const at::Tensor& image,
                                              const at::Tensor& heatmap, const at::Tensor& baseline,
                                              const PerturbationOptions& options = {});

/// Insertion: starting from `baseline`, `image`'s pixels come back in decreasing order of `heatmap`: high AUC is good.
AUTOTIMM_API PerturbationCurve insertion_curve(const ScoreFunction& score, const at::Tensor& image,
                                               const at::Tensor& heatmap, const at::Tensor& baseline,
                                               const PerturbationOptions& options = {});

/// Pointing game: the heatmap's maximum (resized to the target's H × W) lies on the target ([H, W], nonzero = target)
/// or within `tolerance` pixels (Euclidean, between pixel centres) of it; a target without pixels is a miss. Ties for
/// the maximum go to the first in row-major order. ConfigError when either is not 2-D or tolerance < 0.
AUTOTIMM_API bool pointing_game_hit(const at::Tensor& heatmap, const at::Tensor& target, std::int64_t tolerance = 15);

/// The same against a box x1, y1, x2, y2 in the pixels of an image of `height` × `width`: a hit when the centre of the
/// peak pixel, (x + 0.5, y + 0.5), lies inside the box or within `tolerance` pixels of its edge.
AUTOTIMM_API bool pointing_game_hit(const at::Tensor& heatmap, const std::array<double, 4>& box, std::int64_t height,
                                    std::int64_t width, std::int64_t tolerance = 15);

}  // namespace autotimm::interpret
