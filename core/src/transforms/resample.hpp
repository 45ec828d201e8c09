#pragma once
// Resizing as PIL does it (what torchvision and timm train and evaluate with): separable, horizontal pass then
// vertical, each output pixel a weighted sum of the input pixels under a filter whose support widens with the
// downscale factor (antialiasing), weights in 22-bit fixed point, rounded and clamped to 8 bits after each pass.
//
// The passes read from a PixelView, so the loader can resample a JPEG decoded only in part (a window of it, or at
// 1/2, 1/4, 1/8 scale) with the coordinates of the whole image.
#include <cstddef>
#include <cstdint>

#include "autotimm/data/image.hpp"
#include "autotimm/data/transform.hpp"

namespace autotimm::transforms {

/// Read-only interleaved 8-bit pixels that may be a part of a larger image: (origin_x, origin_y) is where the
/// first pixel lies in the coordinates rectangles and axes refer to.
struct PixelView {
  const std::uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  int channels = 0;
  std::size_t stride = 0;  ///< bytes from one row to the next
  int origin_x = 0;
  int origin_y = 0;

  static PixelView of(const Image& image, int origin_x = 0, int origin_y = 0) {
    return {image.pixels.data(), image.width, image.height, image.channels, image.row_bytes(), origin_x, origin_y};
  }
  const std::uint8_t* row(int y) const { return data + static_cast<std::size_t>(y - origin_y) * stride; }
  const std::uint8_t* pixel(int x, int y) const {
    return row(y) + static_cast<std::size_t>(x - origin_x) * static_cast<std::size_t>(channels);
  }
};

/// One direction of a resize: output pixel i (counted over the whole output, not only the kept window) is centred
/// at input coordinate clip_begin + shift + (i + 0.5) · scale, and the filter reads only inputs in
/// [clip_begin, clip_end). PIL's resize of a region is shift 0 and scale = region size / output size.
struct ResampleAxis {
  int clip_begin = 0;
  int clip_end = 0;
  double shift = 0.0;
  double scale = 1.0;

  /// A region [begin, begin + size) resized to `out_size`.
  static ResampleAxis of(int begin, int size, int out_size) {
    return {begin, begin + size, 0.0, static_cast<double>(size) / out_size};
  }
  /// Output pixel i is input pixel clip_begin + i: nothing to filter.
  bool identity() const { return scale == 1.0 && shift == 0.0; }
};

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

/// What a ResizePlan makes of the whole decoded image.
inline Image resample(const Image& source, const ResizePlan& plan) {
  return resample(source, plan.roi, plan.width, plan.height, plan.interpolation, plan.window);
}

/// The `window` of the resize described by two axes, reading `source` (which must hold every pixel
/// source_rect() names). With axes from ResampleAxis::of this is exactly the resample above.
Image resample(const PixelView& source, const ResampleAxis& x, const ResampleAxis& y, PixelRect window,
               Interpolation filter);

/// The input pixels that resize reads for `window`: what a decoder must produce.
PixelRect source_rect(const ResampleAxis& x, const ResampleAxis& y, PixelRect window, Interpolation filter);

/// A plan's axes for an image decoded at 1/`scale` (libjpeg's DCT scaling: scaled pixel i covers full-size pixels
/// [i · scale, (i + 1) · scale)), `scaled_width` × `scaled_height` in all. Scale 1 gives the plan's exact axes.
ResampleAxis scaled_axis(int roi_begin, int roi_size, int out_size, int scale, int scaled_size);

}  // namespace autotimm::transforms
