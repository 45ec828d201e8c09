// Integrated Gradients: the trapezoid rule along the straight path from a baseline, batched over path points.
#include "autotimm/interpret/integrated_gradients.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <string>

#include "autotimm/error.hpp"
#include "autotimm/interpret/heatmap_image.hpp"

namespace autotimm::interpret {

at::Tensor attribution_heatmap(const at::Tensor& attributions) {
  TORCH_CHECK(attributions.dim() == 4, "attribution_heatmap: expected attributions [N, C, H, W]");
  return normalize_heatmap(attributions.abs().sum(1).to(torch::kFloat32));
}

IntegratedGradientsResult integrated_gradients(const ScoreFunction& score, const at::Tensor& images,
                                               const IntegratedGradientsOptions& options) {
  if (images.dim() != 4) {
    throw ConfigError("Integrated Gradients: expected images [N, 3, H, W], got " + c10::str(images.sizes()));
  }
  return integrated_gradients(score, images, make_baseline(options.baseline, images, options.baseline_options),
                              options);
}

IntegratedGradientsResult integrated_gradients(const ScoreFunction& score, const at::Tensor& images,
                                               const at::Tensor& baselines, const IntegratedGradientsOptions& options) {
  if (images.dim() != 4) {
    throw ConfigError("Integrated Gradients: expected images [N, 3, H, W], got " + c10::str(images.sizes()));
  }
  if (baselines.sizes() != images.sizes()) {
    throw ConfigError("Integrated Gradients: the baseline has shape " + c10::str(baselines.sizes()) +
                      ", the images " + c10::str(images.sizes()) + "; they must match");
  }
  if (options.steps < 1 || options.batch_size < 1) {
    throw ConfigError("Integrated Gradients: steps and batch_size must be at least 1, got steps " +
                      std::to_string(options.steps) + " and batch_size " + std::to_string(options.batch_size));
  }
  torch::AutoGradMode grad_mode(true);
  const std::int64_t n = images.size(0);
  const std::int64_t points = options.steps + 1;
  // Trapezoid weights over alpha = k / steps: 1 / steps inside, half of it at both ends.
  auto alphas = torch::linspace(0.0, 1.0, points, images.options().dtype(torch::kFloat32));
  const auto float64 = images.options().dtype(torch::kFloat64);
  auto weights = torch::full({points}, 1.0 / static_cast<double>(options.steps), float64);
  weights[0] = 0.5 / static_cast<double>(options.steps);
  weights[points - 1] = 0.5 / static_cast<double>(options.steps);

  IntegratedGradientsResult result;
  result.attributions = torch::zeros(images.sizes(), images.options().dtype(torch::kFloat32));
  result.scores = torch::zeros({n}, float64);
  result.baseline_scores = torch::zeros({n}, float64);
  for (std::int64_t i = 0; i < n; ++i) {
    const auto x = images[i].detach().to(torch::kFloat32);
    const auto base = baselines[i].detach().to(torch::kFloat32);
    const auto delta = x - base;
    auto gradient_sum = torch::zeros(x.sizes(), x.options().dtype(torch::kFloat64));
    for (std::int64_t start = 0; start < points; start += options.batch_size) {
      const std::int64_t count = std::min(options.batch_size, points - start);
      const auto a = alphas.narrow(0, start, count).view({-1, 1, 1, 1});
      const auto path = (base.unsqueeze(0) + a * delta.unsqueeze(0)).to(images.dtype()).requires_grad_(true);
      const auto s = score(path);
      if (s.dim() != 1 || s.size(0) != count) {
        throw ConfigError("Integrated Gradients: the score function returned shape " + c10::str(s.sizes()) +
                          " for " + std::to_string(count) + " images; expected one score per image");
      }
      // The path's ends are the baseline and the image: their scores come for free.
      const auto detached = s.detach().to(torch::kFloat64);
      if (start == 0) result.baseline_scores[i] = detached[0];
      if (start + count == points) result.scores[i] = detached[count - 1];
      if (!s.requires_grad()) continue;  // the score does not depend on the pixels: all attributions stay 0
      const auto gradient = torch::autograd::grad({s.sum()}, {path}, {}, false, false, /*allow_unused=*/true)[0];
      if (!gradient.defined()) continue;
      const auto w = weights.narrow(0, start, count).view({-1, 1, 1, 1});
      gradient_sum += (gradient.detach().to(torch::kFloat64) * w).sum(0);
    }
    result.attributions[i] = (delta.to(torch::kFloat64) * gradient_sum).to(torch::kFloat32);
  }
  result.completeness_gap =
      result.attributions.to(torch::kFloat64).flatten(1).sum(1) - (result.scores - result.baseline_scores);
  result.heatmap = attribution_heatmap(result.attributions);
  return result;
}

}  // namespace autotimm::interpret
