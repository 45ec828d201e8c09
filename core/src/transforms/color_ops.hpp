#pragma once
// The 8-bit image operations torchvision's PIL backend performs, with PIL's own arithmetic so that an augmented
// image matches Python pixel for pixel: ImageEnhance (brightness, contrast, color, sharpness), ImageOps
// (posterize, solarize, autocontrast, equalize, invert), convert("L") / convert("HSV") and Image.transform /
// Image.rotate with nearest resampling. Internal to libautotimm; the transforms in color_transforms.cpp and
// auto_augment.cpp are the public face.
//
// Every function takes an 8-bit image with 1 (gray) or 3 (RGB) channels. The point operations work in place
// through 256-entry tables; the others write into a new buffer once per call, never per pixel.
#include <array>
#include <cmath>
#include <cstdint>

#include "autotimm/data/image.hpp"

namespace autotimm::transforms {

/// A table mapping every 8-bit value to another.
using ByteLut = std::array<std::uint8_t, 256>;

/// Replaces every byte `v` of the image with `lut[v]`.
void apply_lut(Image& image, const ByteLut& lut);

/// PIL's convert("L") of one RGB pixel: ITU-R 601-2 luma in 16.16 fixed point, rounded half up
/// ((R*19595 + G*38470 + B*7471 + 0x8000) >> 16). The weights sum to 65536, so gray stays gray.
inline std::uint8_t luma(std::uint8_t r, std::uint8_t g, std::uint8_t b) noexcept {
  return static_cast<std::uint8_t>((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

/// torchvision's to_grayscale: convert("L"), replicated to 3 channels when asked. A gray input stays as it is
/// (or is replicated). `num_output_channels` must be 1 or 3.
Image to_grayscale(const Image& image, int num_output_channels);

/// Image.blend(degenerate, image, factor) for one byte: float math, truncated and clipped as PIL's ImagingBlend.
inline std::uint8_t blend_byte(int degenerate, int value, float factor) noexcept {
  const float mixed = static_cast<float>(degenerate) + factor * static_cast<float>(value - degenerate);
  if (mixed <= 0.0f) return 0;
  if (mixed >= 255.0f) return 255;
  return static_cast<std::uint8_t>(mixed);
}

// ImageEnhance: each blends the image with a "degenerate" version of itself; factor 1 is the identity, 0 the
// degenerate image, above 1 extrapolates. Any factor >= 0 is valid (the auto-augment ops also pass 0.01..1.99).
/// Blend with black.
void adjust_brightness(Image& image, double factor);
/// Blend with a flat gray at the rounded mean of convert("L") (int(mean + 0.5)).
void adjust_contrast(Image& image, double factor);
/// Blend with the image's own convert("L"). Gray images are unchanged.
void adjust_saturation(Image& image, double factor);
/// Blend with PIL's SMOOTH filter (3x3, weights 1 around 5, / 13); the one-pixel border keeps its values, and
/// an image smaller than 3x3 is unchanged.
void adjust_sharpness(Image& image, double factor);

/// torchvision's PIL adjust_hue: convert to PIL's 8-bit HSV, add trunc(hue_factor * 255) to H modulo 256,
/// convert back. `hue_factor` in [-0.5, 0.5]. Gray images are unchanged.
void adjust_hue(Image& image, double hue_factor);

// ImageOps, each through one table per channel.
/// Keeps the `bits` (0..8) high bits of every value.
void posterize(Image& image, int bits);
/// Inverts every value at or above `threshold`.
void solarize(Image& image, double threshold);
/// Per channel, stretches [darkest, lightest] to [0, 255] (cutoff 0, no ignored value).
void autocontrast(Image& image);
/// Per channel histogram equalization, PIL's algorithm.
void equalize(Image& image);
/// 255 - v.
void invert(Image& image);

/// Element `index` of torch.linspace(start, end, steps) in float32, the values torchvision's magnitude tables and
/// Gaussian kernels hold, as LibTorch's AVX2 CPU kernel computes them (x86's usual dispatch; checked against
/// LibTorch 1.13): each value is `start + step * i` in the first half or `end - step * (steps - i - 1)` in the
/// second, as fused multiply-adds; runs of 16 go through 8-float vectors that start at such a value and add
/// `lane * step` unfused. Other CPU kernels (AVX-512, ARM, no SIMD) can differ in the last bit of some values.
inline float torch_linspace(float start, float end, int steps, int index) noexcept {
  if (steps == 1) return start;
  const float step = (end - start) / static_cast<float>(steps - 1);
  const int halfway = steps / 2;
  const auto from_nearer_end = [&](int i) {
    return i < halfway ? std::fma(step, static_cast<float>(i), start)
                       : std::fma(-step, static_cast<float>(steps - i - 1), end);
  };
  constexpr int kLanes = 8;
  if (index < steps / (2 * kLanes) * (2 * kLanes)) {
    const int lane = index % kLanes;
    const float base = from_nearer_end(index - lane);
    return lane == 0 ? base : base + static_cast<float>(lane) * step;  // the vector arange: not fused
  }
  return from_nearer_end(index);
}

/// torchvision's gaussian_blur: a normalized Gaussian kernel of `kernel_width` x `kernel_height` taps (odd) with
/// the given sigmas, reflect padding (edge pixel not repeated), float32 accumulation, rounded half to even.
void gaussian_blur(Image& image, int kernel_width, int kernel_height, double sigma_x, double sigma_y);

/// PIL's affine data: output pixel (x, y) reads the input at (a x + b y + c, d x + e y + f), pixel centers
/// at +0.5. The order is PIL's: {a, b, c, d, e, f}.
using AffineMatrix = std::array<double, 6>;

/// torchvision's _get_inverse_affine_matrix: the inverse of rotation `angle` (degrees, counter-clockwise),
/// shear (degrees), `scale` and translation about `center` (pixel coordinates), as PIL's affine data.
AffineMatrix inverse_affine_matrix(double center_x, double center_y, double angle, double translate_x,
                                   double translate_y, double scale, double shear_x, double shear_y);

/// Image.transform(size, AFFINE, matrix, NEAREST, fillcolor=fill): the same size out, pixels that read outside
/// the input set to `fill` on every channel. Follows PIL's three engines (scaling only, 16.16 fixed point,
/// floating point) so the sampled pixels are the same.
Image affine_nearest(const Image& image, const AffineMatrix& matrix, std::uint8_t fill);

// The geometric ops of torchvision's auto-augment (_apply_op), nearest resampling.
/// F.affine(shear=[degrees(atan(magnitude)), 0], center=[0, 0]): x reads x + magnitude * y.
void shear_x(Image& image, double magnitude, std::uint8_t fill);
/// F.affine(shear=[0, degrees(atan(magnitude))], center=[0, 0]): y reads y + magnitude * x.
void shear_y(Image& image, double magnitude, std::uint8_t fill);
/// F.affine(translate=[pixels, 0]): the content moves right by `pixels`.
void translate_x(Image& image, int pixels, std::uint8_t fill);
/// F.affine(translate=[0, pixels]): the content moves down by `pixels`.
void translate_y(Image& image, int pixels, std::uint8_t fill);
/// Image.rotate(degrees) about the image center (w / 2, h / 2), counter-clockwise, same size; PIL's exact
/// transposes for 0 and 180 degrees (and 90 / 270 on square images).
void rotate(Image& image, double degrees, std::uint8_t fill);

}  // namespace autotimm::transforms
