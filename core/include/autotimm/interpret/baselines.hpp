#pragma once
// Reference images: what "no information" looks like to the model. Integrated Gradients integrates along the path from
// a baseline to the image; the insertion and deletion curves replace pixels with (or start from) a baseline.
//
//   auto base = autotimm::interpret::make_baseline(BaselineKind::blur, images, {.mean = mean, .std = std});
#include <cstdint>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"

namespace autotimm::interpret {

/// black / white: constant pixels 0 / 1; blur: the image Gaussian-blurred (keeps colours, removes detail, so the
/// attributions are about shapes rather than about brightness); random: uniform noise.
enum class BaselineKind { black, white, blur, random };

/// "black", "white", "blur" or "random"; ConfigError naming the known ones otherwise.
AUTOTIMM_API BaselineKind parse_baseline(std::string_view name);
AUTOTIMM_API std::string_view baseline_name(BaselineKind kind);

struct BaselineOptions {
  std::vector<double> mean = {0.485, 0.456, 0.406};  ///< the model's normalisation (pixel values in [0, 1])
  std::vector<double> std = {0.229, 0.224, 0.225};
  double blur_sigma = 0.0;    ///< Gaussian sigma in pixels for `blur`; 0: max(H, W) / 16
  std::uint64_t seed = 0;     ///< for `random`
};

/// A baseline for `images` [N, 3, H, W] (normalised): black / white = pixels 0 / 1 normalised, blur = each image
/// blurred, random = uniform pixels in [0, 1] normalised. Same shape, dtype and device as `images`. ConfigError when
/// images is not [N, C, H, W] with C mean/std values, a std is not positive or blur_sigma is negative.
AUTOTIMM_API at::Tensor make_baseline(BaselineKind kind, const at::Tensor& images, const BaselineOptions& options = {});

}  // namespace autotimm::interpret
