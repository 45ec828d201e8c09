#pragma once
// SmoothGrad (Smilkov et al. 2017) around any method: the average of the method's output (heatmaps or attributions)
// over `samples` copies of the input with Gaussian noise added. The noise's sigma is `noise` times the input's value
// range (max - min, per image), so it reads the same for any normalisation. Seeded: the same seed gives the same maps.
//
//   auto smooth = autotimm::interpret::smooth_grad(
//       [&](const at::Tensor& noisy) { return grad_cam(*model.backbone(), score, noisy).heatmap; }, images,
//       {.samples = 16, .noise = 0.15});
#include <cstdint>
#include <functional>

#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"

namespace autotimm::interpret {

/// A method to smooth: noisy images [N, 3, H, W] → its output for them (any shape, the same for every call).
using ExplainFunction = std::function<at::Tensor(const at::Tensor& images)>;

struct SmoothGradOptions {
  std::int64_t samples = 16;  ///< noisy copies averaged
  double noise = 0.15;        ///< noise sigma as a share of each image's value range (max - min)
  std::uint64_t seed = 0;
};

/// The mean of `explain` over options.samples noisy copies of `images` [N, ...] (ConfigError for samples < 1 or a
/// negative noise).
AUTOTIMM_API at::Tensor smooth_grad(const ExplainFunction& explain, const at::Tensor& images,
                                    const SmoothGradOptions& options = {});

}  // namespace autotimm::interpret
