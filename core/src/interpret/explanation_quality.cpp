// Deletion and insertion curves and the pointing game: explanation_metrics.hpp.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "autotimm/error.hpp"
#include "autotimm/interpret/explanation_metrics.hpp"
#include "autotimm/interpret/heatmap_image.hpp"

namespace autotimm::interpret {
namespace {

std::string shape_of(const at::Tensor& tensor) {
  if (!tensor.defined()) return "an undefined tensor";
  std::string text = "[";
  for (std::int64_t d = 0; d < tensor.dim(); ++d) text += (d ? ", " : "") + std::to_string(tensor.size(d));
  return text + "]";
}

/// Each pixel's place in the order of decreasing heatmap value ([H, W] int64, 0 = changed first); ties go by pixel
/// index (row-major), so the curve does not depend on the sort's implementation.
at::Tensor pixel_ranks(const at::Tensor& heatmap, std::int64_t height, std::int64_t width) {
  const at::Tensor values =
      resize_heatmap(heatmap.detach().to(torch::kCPU), height, width).to(torch::kDouble).contiguous();
  const double* v = values.data_ptr<double>();
  const std::int64_t count = height * width;
  std::vector<std::int64_t> order(static_cast<std::size_t>(count));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  // NaN counts as lowest: such pixels change last.
  auto key = [v](std::int64_t i) { return std::isnan(v[i]) ? -std::numeric_limits<double>::infinity() : v[i]; };
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return key(a) > key(b); });
  at::Tensor ranks = torch::empty({height, width}, torch::kLong);
  std::int64_t* r = ranks.data_ptr<std::int64_t>();
  for (std::int64_t place = 0; place < count; ++place) r[order[static_cast<std::size_t>(place)]] = place;
  return ranks;
}

enum class Perturbation { deletion, insertion };

/// The curve of the images whose first n_k pixels in heatmap order, n_k = round(k · H·W / steps), are the baseline's
/// (deletion) or the image's (insertion), the rest the other's.
PerturbationCurve perturbation_curve(Perturbation kind, const ScoreFunction& score, const at::Tensor& image,
                                     const at::Tensor& heatmap, const at::Tensor& baseline,
                                     const PerturbationOptions& options) {
  const std::string where = kind == Perturbation::deletion ? "deletion_curve" : "insertion_curve";
  if (!image.defined() || image.dim() != 3) {
    throw ConfigError(where + ": expected one normalised image [C, H, W], got " + shape_of(image) +
                      "; select one image of a batch first");
  }
  if (!baseline.defined() || baseline.sizes() != image.sizes()) {
    throw ConfigError(where + ": the baseline must have the image's shape " + shape_of(image) + ", got " +
                      shape_of(baseline) + "; make it with make_baseline");
  }
  if (!heatmap.defined() || heatmap.dim() != 2) {
    throw ConfigError(where + ": expected a heatmap [h, w], got " + shape_of(heatmap));
  }
  if (options.steps < 1 || options.batch_size < 1) {
    throw ConfigError(where + ": steps and batch_size must be at least 1, got " + std::to_string(options.steps) +
                      " and " + std::to_string(options.batch_size));
  }
  if (!score) throw ConfigError(where + ": the score function is empty");
  const std::int64_t height = image.size(1);
  const std::int64_t width = image.size(2);
  const std::int64_t pixels = height * width;
  const at::Tensor ranks = pixel_ranks(heatmap, height, width).to(image.device()).unsqueeze(0);  // [1, H, W]
  // The pixels changed so far come from `changed_from`, the others from `kept_from`.
  const at::Tensor original = image.detach();
  const at::Tensor reference = baseline.detach().to(original.options());
  const at::Tensor& changed_from = kind == Perturbation::deletion ? reference : original;
  const at::Tensor& kept_from = kind == Perturbation::deletion ? original : reference;

  PerturbationCurve curve;
  std::vector<std::int64_t> changed;
  for (std::int64_t k = 0; k <= options.steps; ++k) {
    // Integer rounding of k · pixels / steps: exact, no floating point.
    changed.push_back((2 * k * pixels + options.steps) / (2 * options.steps));
    curve.fractions.push_back(static_cast<double>(changed.back()) / static_cast<double>(pixels));
  }
  torch::NoGradGuard no_grad;
  for (std::size_t start = 0; start < changed.size(); start += static_cast<std::size_t>(options.batch_size)) {
    const std::size_t stop = std::min(changed.size(), start + static_cast<std::size_t>(options.batch_size));
    std::vector<at::Tensor> batch;
    for (std::size_t k = start; k < stop; ++k) batch.push_back(torch::where(ranks < changed[k], changed_from, kept_from));
    const at::Tensor scores = score(torch::stack(batch)).detach().to(torch::kCPU, torch::kDouble).reshape({-1});
    if (scores.numel() != static_cast<std::int64_t>(stop - start)) {
      throw ConfigError(where + ": the score function returned " + std::to_string(scores.numel()) +
                        " values for a batch of " + std::to_string(stop - start) +
                        " images; it must return one score per image, [N]");
    }
    const double* s = scores.data_ptr<double>();
    curve.scores.insert(curve.scores.end(), s, s + scores.numel());
  }
  for (std::size_t i = 1; i < curve.scores.size(); ++i) {
    curve.auc += 0.5 * (curve.scores[i] + curve.scores[i - 1]) * (curve.fractions[i] - curve.fractions[i - 1]);
  }
  return curve;
}

struct Peak {
  std::int64_t x = 0;
  std::int64_t y = 0;
};

/// The heatmap's maximum after resizing it to height × width: the first in row-major order, NaN ignored.
Peak peak_of(const at::Tensor& heatmap, std::int64_t height, std::int64_t width) {
  if (!heatmap.defined() || heatmap.dim() != 2) {
    throw ConfigError("pointing_game_hit: expected a heatmap [h, w], got " + shape_of(heatmap));
  }
  const at::Tensor values = resize_heatmap(heatmap.detach().to(torch::kCPU), height, width).to(torch::kDouble);
  const at::Tensor flat = torch::nan_to_num(values, -std::numeric_limits<double>::infinity()).reshape({-1});
  const std::int64_t peak = flat.argmax().item<std::int64_t>();
  return {.x = peak % width, .y = peak / width};
}

void check_tolerance(std::int64_t tolerance) {
  if (tolerance < 0) {
    throw ConfigError("pointing_game_hit: tolerance must be >= 0 pixels, got " + std::to_string(tolerance));
  }
}

}  // namespace

PerturbationCurve deletion_curve(const ScoreFunction& score, const at::Tensor& image, const at::Tensor& heatmap,
                                 const at::Tensor& baseline, const PerturbationOptions& options) {
  return perturbation_curve(Perturbation::deletion, score, image, heatmap, baseline, options);
}

PerturbationCurve insertion_curve(const ScoreFunction& score, const at::Tensor& image, const at::Tensor& heatmap,
                                  const at::Tensor& baseline, const PerturbationOptions& options) {
  return perturbation_curve(Perturbation::insertion, score, image, heatmap, baseline, options);
}

bool pointing_game_hit(const at::Tensor& heatmap, const at::Tensor& target, std::int64_t tolerance) {
  if (!target.defined() || target.dim() != 2 || target.numel() == 0) {
    throw ConfigError("pointing_game_hit: expected a non-empty target mask [H, W] (nonzero = target), got " +
                      shape_of(target));
  }
  check_tolerance(tolerance);
  const Peak peak = peak_of(heatmap, target.size(0), target.size(1));
  const at::Tensor on_target = target.detach().to(torch::kCPU) != 0;
  if (on_target[peak.y][peak.x].item<bool>()) return true;
  const at::Tensor points = on_target.nonzero();  // [K, 2] (y, x); none: an empty target is a miss
  if (points.size(0) == 0 || tolerance == 0) return false;
  const at::Tensor dy = points.select(1, 0) - peak.y;
  const at::Tensor dx = points.select(1, 1) - peak.x;
  const std::int64_t nearest = (dy * dy + dx * dx).min().item<std::int64_t>();
  return nearest <= tolerance * tolerance;
}

bool pointing_game_hit(const at::Tensor& heatmap, const std::array<double, 4>& box, std::int64_t height,
                       std::int64_t width, std::int64_t tolerance) {
  if (height <= 0 || width <= 0) {
    throw ConfigError("pointing_game_hit: the image size must be positive, got " + std::to_string(height) + " x " +
                      std::to_string(width));
  }
  const auto [x1, y1, x2, y2] = box;
  if (!(x2 >= x1 && y2 >= y1)) {
    throw ConfigError("pointing_game_hit: the box must be x1, y1, x2, y2 with x1 <= x2 and y1 <= y2, got " +
                      std::to_string(x1) + ", " + std::to_string(y1) + ", " + std::to_string(x2) + ", " +
                      std::to_string(y2));
  }
  check_tolerance(tolerance);
  // The distance from the peak pixel's centre to the box (0 inside it).
  const Peak peak = peak_of(heatmap, height, width);
  const double cx = static_cast<double>(peak.x) + 0.5;
  const double cy = static_cast<double>(peak.y) + 0.5;
  const double dx = std::max({x1 - cx, 0.0, cx - x2});
  const double dy = std::max({y1 - cy, 0.0, cy - y2});
  const auto limit = static_cast<double>(tolerance);
  return dx * dx + dy * dy <= limit * limit;
}

}  // namespace autotimm::interpret
