#include "autotimm/interpret/baselines.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <string>

#include "autotimm/error.hpp"

namespace autotimm::interpret {
namespace {

constexpr std::array<std::string_view, 4> kBaselineNames = {"black", "white", "blur", "random"};

/// [1, C, 1, 1] of `values` in the images' dtype and device.
at::Tensor per_channel(const std::vector<double>& values, const at::Tensor& images) {
  return torch::tensor(values, torch::kDouble).to(images.options()).reshape({1, -1, 1, 1});
}

/// A normalised 1-D Gaussian of radius ceil(3 sigma), at least 1.
at::Tensor gaussian_kernel(double sigma, const at::Tensor& images) {
  const auto radius = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(3.0 * sigma)));
  const auto x = torch::arange(-radius, radius + 1, torch::kDouble);
  const auto kernel = torch::exp(-(x * x) / (2.0 * sigma * sigma));
  return (kernel / kernel.sum()).to(images.options());
}

/// Each channel blurred separably; the border replicated, so a constant image stays constant and the blur commutes
/// with the per-channel normalisation (blurring normalised pixels = normalising blurred ones).
at::Tensor gaussian_blur(const at::Tensor& images, double sigma) {
  const std::int64_t channels = images.size(1);
  const auto kernel = gaussian_kernel(sigma, images);
  const std::int64_t radius = (kernel.size(0) - 1) / 2;
  namespace F = torch::nn::functional;
  const auto padded = F::pad(images, F::PadFuncOptions({radius, radius, radius, radius}).mode(torch::kReplicate));
  const auto horizontal = kernel.reshape({1, 1, 1, -1}).expand({channels, 1, 1, kernel.size(0)}).contiguous();
  const auto vertical = kernel.reshape({1, 1, -1, 1}).expand({channels, 1, kernel.size(0), 1}).contiguous();
  const auto rows = F::conv2d(padded, horizontal, F::Conv2dFuncOptions().groups(channels));
  return F::conv2d(rows, vertical, F::Conv2dFuncOptions().groups(channels));
}

}  // namespace

BaselineKind parse_baseline(std::string_view name) {
  for (std::size_t i = 0; i < kBaselineNames.size(); ++i) {
    if (name == kBaselineNames[i]) return static_cast<BaselineKind>(i);
  }
  throw ConfigError("baseline '" + std::string(name) + "': unknown; expected one of black, white, blur, random");
}

std::string_view baseline_name(BaselineKind kind) { return kBaselineNames.at(static_cast<std::size_t>(kind)); }

at::Tensor make_baseline(BaselineKind kind, const at::Tensor& images, const BaselineOptions& options) {
  if (!images.defined() || images.dim() != 4 || !images.is_floating_point()) {
    const std::string got = images.defined() ? std::to_string(images.dim()) + "-D " +
                                                   std::string(c10::toString(images.scalar_type()))
                                             : std::string("an undefined tensor");
    throw ConfigError("make_baseline: expected normalised floating-point images [N, C, H, W], got " + got);
  }
  const auto channels = static_cast<std::size_t>(images.size(1));
  if (options.mean.size() != channels || options.std.size() != channels) {
    throw ConfigError("make_baseline: the images have " + std::to_string(channels) + " channels but mean has " +
                      std::to_string(options.mean.size()) + " values and std " + std::to_string(options.std.size()) +
                      "; pass the model's normalisation (its pretrained_cfg mean and std)");
  }
  for (const double s : options.std) {
    if (!(s > 0.0)) throw ConfigError("make_baseline: every std must be positive, got " + std::to_string(s));
  }
  if (!(options.blur_sigma >= 0.0)) {
    throw ConfigError("make_baseline: blur_sigma must be >= 0 (0: max(H, W) / 16), got " +
                      std::to_string(options.blur_sigma));
  }
  torch::NoGradGuard no_grad;
  const auto mean = per_channel(options.mean, images);
  const auto stdev = per_channel(options.std, images);
  switch (kind) {
    case BaselineKind::black:
      return ((torch::zeros_like(images) - mean) / stdev).contiguous();
    case BaselineKind::white:
      return ((torch::ones_like(images) - mean) / stdev).contiguous();
    case BaselineKind::blur: {
      const double sigma = options.blur_sigma > 0.0
                               ? options.blur_sigma
                               : static_cast<double>(std::max(images.size(2), images.size(3))) / 16.0;
      return gaussian_blur(images.detach(), sigma);
    }
    case BaselineKind::random: {
      // Drawn on the CPU from its own generator: the same seed gives the same baseline on every device.
      auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
      const auto pixels = torch::rand(images.sizes(), generator, torch::kFloat).to(images.options());
      return ((pixels - mean) / stdev).contiguous();
    }
  }
  throw ConfigError("make_baseline: unknown baseline kind");
}

}  // namespace autotimm::interpret
