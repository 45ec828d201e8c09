#pragma once
// Resizing as PIL does it (what torchvision and timm train and evaluate with): separable, horizontal pass then
// vertical, each output pixel a weighted sum of the input pixels under a filter whose support widens with the
// downscale factor (antialiasing), weights in 22-bit fixed point, rounded and clamped to 8 bits after each pass.
#include "autotimm/data/image.hpp"
#include "autotimm/data/transform.hpp"

namespace autotimm::transforms {

/// The `roi` of `source` resized to `width` × `height`. Only pixels inside the ROI are read, as when torchvision
/// crops and then resizes.
Image resample(const Image& source, PixelRect roi, int width, int height, Interpolation filter);

/// Only the `window` (in output coordinates) of that resize: the same pixels the full resize has there, without
/// computing what a following crop would drop. `window` must lie inside width × height.
Image resample(const Image& source, PixelRect roi, int width, int height, Interpolation filter, PixelRect window);

/// The whole image resized.
inline Image resample(const Image& source, int width, int height, Interpolation filter) {
  return resample(source, PixelRect{0, 0, source.width, source.height}, width, height, filter);
}

}  // namespace autotimm::transforms
