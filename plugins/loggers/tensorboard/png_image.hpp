#pragma once
// Image tensors to PNG bytes for Summary.Image (OpenCV's encoder, in memory).
#include <string_view>

#include "summary.hpp"

namespace at {
class Tensor;
}

namespace autotimm::tensorboard {

/// `image`: RGB [3, H, W] or [H, W, 3], gray [1, H, W], [H, W, 1] or [H, W]; uint8 (other integer types are clamped
/// to 0..255, bool is 0 or 255) or floating point in [0, 1] (clamped, scaled by 255 and rounded; NaN as 0).
/// ConfigError naming `tag` for any other shape.
EncodedImage encode_png(const at::Tensor& image, std::string_view tag);

}  // namespace autotimm::tensorboard
