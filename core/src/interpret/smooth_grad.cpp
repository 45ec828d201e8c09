// SmoothGrad: the average of a method's output over noisy copies of the input.
#include "autotimm/interpret/smooth_grad.hpp"

#include <torch/torch.h>
#include <ATen/CPUGeneratorImpl.h>

#include <string>

#include "autotimm/error.hpp"

namespace autotimm::interpret {

at::Tensor smooth_grad(const ExplainFunction& explain, const at::Tensor& images, const SmoothGradOptions& options) {
  if (options.samples < 1 || !(options.noise >= 0.0)) {
    throw ConfigError("SmoothGrad: expected samples >= 1 and noise >= 0, got samples " +
                      std::to_string(options.samples) + " and noise " + std::to_string(options.noise));
  }
  if (images.dim() < 2) throw ConfigError("SmoothGrad: expected images [N, ...], got " + c10::str(images.sizes()));
  const auto flat = images.detach().flatten(1);
  const auto range = (std::get<0>(flat.max(1)) - std::get<0>(flat.min(1))).to(torch::kFloat32);
  std::vector<std::int64_t> per_image(static_cast<std::size_t>(images.dim()), 1);
  per_image[0] = images.size(0);
  const auto sigma = (range * options.noise).view(per_image);
  // Noise is drawn on the CPU from a generator of its own, so the maps depend on the seed alone.
  auto generator = at::detail::createCPUGenerator(options.seed);
  at::Tensor total;
  for (std::int64_t k = 0; k < options.samples; ++k) {
    const auto noise = at::randn(images.sizes(), generator, torch::TensorOptions().dtype(torch::kFloat32));
    const auto noisy = (images.detach() + noise.to(images.device()) * sigma.to(images.device())).to(images.dtype());
    const auto out = explain(noisy).detach().to(torch::kFloat32);
    total = total.defined() ? total + out : out.clone();
  }
  return total / static_cast<double>(options.samples);
}

}  // namespace autotimm::interpret
