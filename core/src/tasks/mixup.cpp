#include "autotimm/tasks/mixup.hpp"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

namespace autotimm {

namespace {

double sample_gamma(SampleRng& rng, double shape) {
  if (shape < 1.0) {
    // Gamma(a) = Gamma(a + 1) * U^(1/a).
    const double u = std::max(rng.uniform(), 1e-300);
    return sample_gamma(rng, shape + 1.0) * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double x, v;
    do {
      x = rng.normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = rng.uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(std::max(u, 1e-300)) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

torch::Tensor soft_targets(const torch::Tensor& targets, std::int64_t num_classes) {
  if (targets.is_floating_point()) return targets.to(torch::kFloat32);
  return torch::one_hot(targets, num_classes).to(torch::kFloat32);
}

}  // namespace

double sample_beta(SampleRng& rng, double a, double b) {
  const double x = sample_gamma(rng, a), y = sample_gamma(rng, b);
  return x / (x + y);
}

MixedBatch mix_batch(const torch::Tensor& images, const torch::Tensor& targets, const MixupOptions& options,
                     SampleRng& rng) {
  MixedBatch out{images, targets, false, 1.0};
  if (!options.enabled() || images.size(0) < 2 || !rng.bernoulli(options.prob)) return out;
  const bool both = options.mixup_alpha > 0.0 && options.cutmix_alpha > 0.0;
  const bool cutmix = both ? rng.bernoulli(options.switch_prob) : options.cutmix_alpha > 0.0;
  const double alpha = cutmix ? options.cutmix_alpha : options.mixup_alpha;
  double lambda = sample_beta(rng, alpha, alpha);
  const torch::Tensor reversed = images.flip(0);
  if (cutmix) {
    const std::int64_t h = images.size(2), w = images.size(3);
    const double ratio = std::sqrt(1.0 - lambda);
    const auto cut_h = static_cast<std::int64_t>(static_cast<double>(h) * ratio);
    const auto cut_w = static_cast<std::int64_t>(static_cast<double>(w) * ratio);
    const std::int64_t cy = rng.integer(0, h - 1), cx = rng.integer(0, w - 1);
    const std::int64_t y0 = std::clamp<std::int64_t>(cy - cut_h / 2, 0, h), y1 = std::clamp<std::int64_t>(cy + cut_h / 2, 0, h);
    const std::int64_t x0 = std::clamp<std::int64_t>(cx - cut_w / 2, 0, w), x1 = std::clamp<std::int64_t>(cx + cut_w / 2, 0, w);
    out.images = images.clone();
    using torch::indexing::Slice;
    out.images.index_put_({Slice(), Slice(), Slice(y0, y1), Slice(x0, x1)},
                          reversed.index({Slice(), Slice(), Slice(y0, y1), Slice(x0, x1)}));
    lambda = 1.0 - static_cast<double>((y1 - y0) * (x1 - x0)) / static_cast<double>(h * w);
  } else {
    out.images = images * lambda + reversed * (1.0 - lambda);
  }
  const torch::Tensor soft = soft_targets(targets, options.num_classes);
  out.targets = soft * lambda + soft.flip(0) * (1.0 - lambda);
  out.mixed = true;
  out.lambda = lambda;
  return out;
}

}  // namespace autotimm
