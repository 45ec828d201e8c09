// PIL's 8-bit arithmetic for the color and auto-augment operations (see color_ops.hpp). Where PIL computes in
// float (blends, the 3x3 filter, HSV) the same operations run here in the same precision and order; the build
// targets x86-64 without FMA, so the compiler does not fuse them either.
#include "color_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

#include "autotimm/error.hpp"

namespace autotimm::transforms {

namespace {

// Python's math.radians / math.degrees multiply by these constants.
constexpr double kDegreesToRadians = std::numbers::pi / 180.0;
constexpr double kRadiansToDegrees = 180.0 / std::numbers::pi;

using Histogram = std::array<std::uint64_t, 256>;

void require_gray_or_rgb(const Image& image, const char* operation) {
  if (image.channels != 1 && image.channels != 3) {
    throw Error(std::string(operation) + ": expected an 8-bit image with 1 (gray) or 3 (RGB) channels, got " +
                std::to_string(image.channels) + "; decode images as RGB or gray");
  }
}

ByteLut identity_lut() {
  ByteLut lut;
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<std::uint8_t>(i);
  return lut;
}

/// One table per channel (the ImageOps functions build a table from each band's histogram).
void apply_channel_luts(Image& image, const std::array<ByteLut, 3>& luts) {
  if (image.channels == 1) {
    apply_lut(image, luts[0]);
    return;
  }
  std::uint8_t* p = image.pixels.data();
  const std::size_t count = image.pixels.size();
  for (std::size_t i = 0; i + 2 < count; i += 3) {
    p[i] = luts[0][p[i]];
    p[i + 1] = luts[1][p[i + 1]];
    p[i + 2] = luts[2][p[i + 2]];
  }
}

std::array<Histogram, 3> channel_histograms(const Image& image) {
  std::array<Histogram, 3> histograms{};
  const std::uint8_t* p = image.pixels.data();
  const std::size_t count = image.pixels.size();
  if (image.channels == 1) {
    for (std::size_t i = 0; i < count; ++i) ++histograms[0][p[i]];
  } else {
    for (std::size_t i = 0; i + 2 < count; i += 3) {
      ++histograms[0][p[i]];
      ++histograms[1][p[i + 1]];
      ++histograms[2][p[i + 2]];
    }
  }
  return histograms;
}

/// ImageOps.autocontrast's table for one band (cutoff 0, nothing ignored).
ByteLut autocontrast_lut(const Histogram& histogram) {
  int lo = 0;
  while (lo < 255 && histogram[lo] == 0) ++lo;
  int hi = 255;
  while (hi > 0 && histogram[hi] == 0) --hi;
  if (hi <= lo) return identity_lut();
  const double scale = 255.0 / (hi - lo);
  const double offset = -lo * scale;
  ByteLut lut;
  for (int i = 0; i < 256; ++i) {
    const int value = static_cast<int>(i * scale + offset);  // Python int(): toward zero
    lut[i] = static_cast<std::uint8_t>(std::clamp(value, 0, 255));
  }
  return lut;
}

/// ImageOps.equalize's table for one band: integer steps of (pixels - pixels of the last used level) / 255.
ByteLut equalize_lut(const Histogram& histogram) {
  std::uint64_t total = 0, last = 0;
  int used = 0;
  for (const auto count : histogram) {
    if (count == 0) continue;
    total += count;
    last = count;
    ++used;
  }
  if (used <= 1) return identity_lut();
  const std::uint64_t step = (total - last) / 255;
  if (step == 0) return identity_lut();
  ByteLut lut;
  std::uint64_t n = step / 2;
  for (int i = 0; i < 256; ++i) {
    lut[i] = static_cast<std::uint8_t>(std::min<std::uint64_t>(n / step, 255));  // PIL's point() clips to 8 bits
    n += histogram[i];
  }
  return lut;
}

/// blend_byte(degenerate[i], values[i], factor) for every i, written back to values: the same float operations in
/// the same order (and so the same bytes) in vector lanes; built for AVX2 too (without FMA, which would round
/// differently) and picked at run time.
__attribute__((target_clones("avx2", "default"))) void blend_bytes(const std::uint8_t* degenerate,
                                                                   std::uint8_t* values, std::size_t count,
                                                                   float factor) {
  for (std::size_t i = 0; i < count; ++i) {
    const float mixed = static_cast<float>(degenerate[i]) +
                        factor * static_cast<float>(static_cast<int>(values[i]) - static_cast<int>(degenerate[i]));
    // <= 0 gives 0 and >= 255 gives 255, as in blend_byte; in between, truncation.
    const float clamped = mixed < 0.0f ? 0.0f : (mixed > 255.0f ? 255.0f : mixed);
    values[i] = static_cast<std::uint8_t>(static_cast<int>(clamped));
  }
}

/// PIL's rgb2hsv_row (Convert.c), float and double exactly where PIL has them.
inline void rgb_to_hsv(const std::uint8_t* rgb, std::uint8_t& h_out, std::uint8_t& s_out, std::uint8_t& v_out) {
  const std::uint8_t r = rgb[0], g = rgb[1], b = rgb[2];
  const std::uint8_t maxc = std::max({r, g, b}), minc = std::min({r, g, b});
  v_out = maxc;
  if (minc == maxc) {
    h_out = 0;
    s_out = 0;
    return;
  }
  const float cr = static_cast<float>(maxc - minc);
  const float s = cr / static_cast<float>(maxc);
  const float rc = static_cast<float>(maxc - r) / cr;
  const float gc = static_cast<float>(maxc - g) / cr;
  const float bc = static_cast<float>(maxc - b) / cr;
  float h;
  if (r == maxc) {
    h = bc - gc;
  } else if (g == maxc) {
    h = static_cast<float>(2.0 + rc - bc);
  } else {
    h = static_cast<float>(4.0 + gc - rc);
  }
  h = static_cast<float>(std::fmod(h / 6.0 + 1.0, 1.0));
  h_out = static_cast<std::uint8_t>(std::clamp(static_cast<int>(h * 255.0), 0, 255));
  s_out = static_cast<std::uint8_t>(std::clamp(static_cast<int>(s * 255.0), 0, 255));
}

/// PIL's hsv2rgb (Convert.c). C's round(): half away from zero.
inline void hsv_to_rgb(std::uint8_t h, std::uint8_t s, std::uint8_t v, std::uint8_t* rgb) {
  if (s == 0) {
    rgb[0] = rgb[1] = rgb[2] = v;
    return;
  }
  const int i = static_cast<int>(std::floor(static_cast<float>(h) * 6.0 / 255.0));
  const float f = static_cast<float>(static_cast<float>(h) * 6.0 / 255.0 - static_cast<float>(i));
  const float fs = static_cast<float>(static_cast<float>(s) / 255.0);
  const auto clip8 = [](double value) {
    const int rounded = static_cast<int>(std::round(value));
    return static_cast<std::uint8_t>(rounded <= 0 ? 0 : rounded < 256 ? rounded : 255);
  };
  const std::uint8_t p = clip8(static_cast<float>(v) * (1.0 - fs));
  const std::uint8_t q = clip8(static_cast<float>(v) * (1.0 - fs * f));  // fs * f is a float product in PIL
  const std::uint8_t t = clip8(static_cast<float>(v) * (1.0 - fs * (1.0 - f)));
  switch (i % 6) {
    case 0: rgb[0] = v, rgb[1] = t, rgb[2] = p; break;
    case 1: rgb[0] = q, rgb[1] = v, rgb[2] = p; break;
    case 2: rgb[0] = p, rgb[1] = v, rgb[2] = t; break;
    case 3: rgb[0] = p, rgb[1] = q, rgb[2] = v; break;
    case 4: rgb[0] = t, rgb[1] = p, rgb[2] = v; break;
    default: rgb[0] = v, rgb[1] = p, rgb[2] = q; break;
  }
}

/// torchvision's _get_gaussian_kernel1d in float32: exp(-0.5 (x / sigma)^2) at linspace(-(k-1)/2, (k-1)/2, k),
/// normalized to sum 1.
std::vector<float> gaussian_kernel(int size, double sigma) {
  const double half = (size - 1) * 0.5;
  const float sigma_f = static_cast<float>(sigma);
  std::vector<float> kernel(static_cast<std::size_t>(size));
  float sum = 0.0f;
  for (int i = 0; i < size; ++i) {
    const float x = torch_linspace(static_cast<float>(-half), static_cast<float>(half), size, i) / sigma_f;
    kernel[i] = std::exp(-0.5f * (x * x));
    sum += kernel[i];
  }
  for (auto& weight : kernel) weight /= sum;
  return kernel;
}

/// The index `i` reflects to inside [0, n) with torch's "reflect" padding (the edge pixel is not repeated).
int reflect_index(int i, int n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) {
    if (i < 0) i = -i;
    if (i >= n) i = 2 * (n - 1) - i;
  }
  return i;
}

/// Python's round(x, 15): decimal rounding of the exact binary value, half to even, then the nearest double.
/// glibc's printf and strtod are both exact, so the result is Python's to the last bit.
double round_15_decimals(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.15f", value);
  return std::strtod(text, nullptr);
}

/// Python's float % (the result takes the divisor's sign).
double python_mod(double x, double divisor) {
  double r = std::fmod(x, divisor);
  if (r != 0.0) {
    if ((divisor < 0.0) != (r < 0.0)) r += divisor;
  } else {
    r = std::copysign(0.0, divisor);
  }
  return r;
}

/// PIL's COORD(): -1 below zero (outside), else truncation.
inline int pil_coord(double v) { return v < 0.0 ? -1 : static_cast<int>(v); }

/// PIL's FLOOR() of v * 65536 + 0.5: the 16.16 fixed-point value of v.
inline int pil_fixed(double v) {
  const double scaled = v * 65536.0 + 0.5;
  return scaled < 0.0 ? static_cast<int>(std::floor(scaled)) : static_cast<int>(scaled);
}

/// Image.transpose(ROTATE_90 / ROTATE_180 / ROTATE_270) for the rotations PIL does exactly.
Image rotate_quarter_turns(const Image& image, int quarter_turns) {
  const int w = image.width, h = image.height;
  const std::size_t c = static_cast<std::size_t>(image.channels);
  Image out(quarter_turns == 2 ? w : h, quarter_turns == 2 ? h : w, image.channels);
  for (int y = 0; y < out.height; ++y) {
    std::uint8_t* dst = out.row(y);
    for (int x = 0; x < out.width; ++x, dst += c) {
      int sx = 0, sy = 0;
      if (quarter_turns == 1) {  // counter-clockwise
        sx = w - 1 - y;
        sy = x;
      } else if (quarter_turns == 2) {
        sx = w - 1 - x;
        sy = h - 1 - y;
      } else {  // clockwise
        sx = y;
        sy = h - 1 - x;
      }
      std::memcpy(dst, image.row(sy) + static_cast<std::size_t>(sx) * c, c);
    }
  }
  return out;
}

}  // namespace

void apply_lut(Image& image, const ByteLut& lut) {
  for (auto& value : image.pixels) value = lut[value];
}

Image to_grayscale(const Image& image, int num_output_channels) {
  require_gray_or_rgb(image, "grayscale");
  if (num_output_channels != 1 && num_output_channels != 3) {
    throw Error("grayscale: num_output_channels must be 1 or 3, got " + std::to_string(num_output_channels));
  }
  Image out(image.width, image.height, num_output_channels);
  const std::size_t pixels = static_cast<std::size_t>(image.width) * image.height;
  const std::uint8_t* src = image.pixels.data();
  std::uint8_t* dst = out.pixels.data();
  for (std::size_t i = 0; i < pixels; ++i) {
    const std::uint8_t gray = image.channels == 3 ? luma(src[3 * i], src[3 * i + 1], src[3 * i + 2]) : src[i];
    if (num_output_channels == 1) {
      dst[i] = gray;
    } else {
      dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = gray;
    }
  }
  return out;
}

void adjust_brightness(Image& image, double factor) {
  const auto alpha = static_cast<float>(factor);  // ImagingBlend takes a C float
  ByteLut lut;
  for (int v = 0; v < 256; ++v) lut[v] = blend_byte(0, v, alpha);
  apply_lut(image, lut);
}

void adjust_contrast(Image& image, double factor) {
  require_gray_or_rgb(image, "adjust_contrast");
  if (image.empty()) return;
  std::uint64_t sum = 0;
  const std::size_t pixels = static_cast<std::size_t>(image.width) * image.height;
  const std::uint8_t* p = image.pixels.data();
  if (image.channels == 3) {
    for (std::size_t i = 0; i < pixels; ++i) sum += luma(p[3 * i], p[3 * i + 1], p[3 * i + 2]);
  } else {
    for (std::size_t i = 0; i < pixels; ++i) sum += p[i];
  }
  // ImageStat's mean of the "L" image, rounded half up by int(mean + 0.5).
  const int mean = static_cast<int>(static_cast<double>(sum) / static_cast<double>(pixels) + 0.5);
  const auto alpha = static_cast<float>(factor);
  ByteLut lut;
  for (int v = 0; v < 256; ++v) lut[v] = blend_byte(mean, v, alpha);
  apply_lut(image, lut);
}

void adjust_saturation(Image& image, double factor) {
  require_gray_or_rgb(image, "adjust_saturation");
  if (image.channels == 1) return;  // ImageEnhance.Color of an "L" image blends it with itself
  const auto alpha = static_cast<float>(factor);
  std::uint8_t* p = image.pixels.data();
  const std::size_t count = image.pixels.size();
  // Each pixel's luma spread over its three bytes, a chunk at a time, so the blend runs over contiguous bytes.
  constexpr std::size_t kChunk = 3 * 512;
  std::array<std::uint8_t, kChunk> gray;
  for (std::size_t start = 0; start < count; start += kChunk) {
    const std::size_t n = std::min(kChunk, count - start);
    std::uint8_t* chunk = p + start;
    for (std::size_t i = 0; i + 2 < n; i += 3) {
      gray[i] = gray[i + 1] = gray[i + 2] = luma(chunk[i], chunk[i + 1], chunk[i + 2]);
    }
    blend_bytes(gray.data(), chunk, n, alpha);
  }
}

void adjust_sharpness(Image& image, double factor) {
  require_gray_or_rgb(image, "adjust_sharpness");
  if (image.width < 3 || image.height < 3) return;  // ImagingFilter copies images smaller than the kernel
  // ImageFilter.SMOOTH: 3x3 weights 1, center 5, scale 13; PIL divides the float kernel by the float scale.
  const float side = 1.0f / 13.0f, center = 5.0f / 13.0f;
  const auto alpha = static_cast<float>(factor);
  const int c = image.channels;
  const int row_bytes = static_cast<int>(image.row_bytes());
  const Image source = image;  // the filter reads unmodified neighbours
  for (int y = 1; y < image.height - 1; ++y) {
    const std::uint8_t* above = source.row(y - 1);
    const std::uint8_t* here = source.row(y);
    const std::uint8_t* below = source.row(y + 1);
    std::uint8_t* out = image.row(y);
    for (int i = c; i < row_bytes - c; ++i) {
      // ImagingFilter3x3's order: the row below with kernel[0..2] first, then this row, then the row above,
      // starting from the 0.5 it adds for rounding.
      float sum = 0.5f;
      sum += static_cast<float>(below[i - c]) * side + static_cast<float>(below[i]) * side +
             static_cast<float>(below[i + c]) * side;
      sum += static_cast<float>(here[i - c]) * side + static_cast<float>(here[i]) * center +
             static_cast<float>(here[i + c]) * side;
      sum += static_cast<float>(above[i - c]) * side + static_cast<float>(above[i]) * side +
             static_cast<float>(above[i + c]) * side;
      const std::uint8_t smoothed = static_cast<std::uint8_t>(std::clamp(sum, 0.0f, 255.0f));
      out[i] = blend_byte(smoothed, here[i], alpha);
    }
  }
}

void adjust_hue(Image& image, double hue_factor) {
  require_gray_or_rgb(image, "adjust_hue");
  if (!(hue_factor >= -0.5 && hue_factor <= 0.5)) {
    throw Error("adjust_hue: hue_factor must be within [-0.5, 0.5], got " + std::to_string(hue_factor));
  }
  if (image.channels == 1) return;  // torchvision returns gray images unchanged
  // np.uint8(hue_factor * 255): truncated toward zero, then added modulo 256.
  // Even a zero shift converts: PIL's 8-bit HSV round trip is not lossless, and torchvision does it anyway.
  const int shift = static_cast<int>(hue_factor * 255.0);
  std::uint8_t* p = image.pixels.data();
  const std::size_t count = image.pixels.size();
  for (std::size_t i = 0; i + 2 < count; i += 3) {
    std::uint8_t h, s, v;
    rgb_to_hsv(p + i, h, s, v);
    hsv_to_rgb(static_cast<std::uint8_t>((h + shift) & 0xFF), s, v, p + i);
  }
}

void posterize(Image& image, int bits) {
  if (bits < 0 || bits > 8) throw Error("posterize: bits must be within 0..8, got " + std::to_string(bits));
  const int mask = ~((1 << (8 - bits)) - 1) & 0xFF;
  ByteLut lut;
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<std::uint8_t>(i & mask);
  apply_lut(image, lut);
}

void solarize(Image& image, double threshold) {
  ByteLut lut;
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<std::uint8_t>(i < threshold ? i : 255 - i);
  apply_lut(image, lut);
}

void autocontrast(Image& image) {
  require_gray_or_rgb(image, "autocontrast");
  const auto histograms = channel_histograms(image);
  std::array<ByteLut, 3> luts;
  for (int c = 0; c < image.channels; ++c) luts[c] = autocontrast_lut(histograms[c]);
  apply_channel_luts(image, luts);
}

void equalize(Image& image) {
  require_gray_or_rgb(image, "equalize");
  const auto histograms = channel_histograms(image);
  std::array<ByteLut, 3> luts;
  for (int c = 0; c < image.channels; ++c) luts[c] = equalize_lut(histograms[c]);
  apply_channel_luts(image, luts);
}

void invert(Image& image) {
  for (auto& value : image.pixels) value = static_cast<std::uint8_t>(255 - value);
}

void gaussian_blur(Image& image, int kernel_width, int kernel_height, double sigma_x, double sigma_y) {
  if (kernel_width <= 0 || kernel_height <= 0 || kernel_width % 2 == 0 || kernel_height % 2 == 0) {
    throw Error("gaussian_blur: kernel sizes must be odd and positive, got " + std::to_string(kernel_width) + "x" +
                std::to_string(kernel_height));
  }
  if (!(sigma_x > 0.0) || !(sigma_y > 0.0)) throw Error("gaussian_blur: sigma must be positive");
  if (image.empty()) return;
  const int w = image.width, h = image.height, c = image.channels;
  const int rx = kernel_width / 2, ry = kernel_height / 2;
  const std::vector<float> kx = gaussian_kernel(kernel_width, sigma_x);
  const std::vector<float> ky = gaussian_kernel(kernel_height, sigma_y);
  std::vector<int> columns(static_cast<std::size_t>(w + 2 * rx));
  for (int i = 0; i < w + 2 * rx; ++i) columns[i] = reflect_index(i - rx, w);
  // The kernel is separable: rows first into a float buffer, then columns, rounding once at the end.
  std::vector<float> horizontal(static_cast<std::size_t>(w) * h * c);
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* in = image.row(y);
    float* out = horizontal.data() + static_cast<std::size_t>(y) * w * c;
    for (int x = 0; x < w; ++x) {
      for (int ch = 0; ch < c; ++ch) {
        float sum = 0.0f;
        for (int k = 0; k < kernel_width; ++k) sum += kx[k] * static_cast<float>(in[columns[x + k] * c + ch]);
        out[x * c + ch] = sum;
      }
    }
  }
  const std::size_t row_values = static_cast<std::size_t>(w) * c;
  std::vector<float> column_sum(row_values);
  for (int y = 0; y < h; ++y) {
    std::fill(column_sum.begin(), column_sum.end(), 0.0f);
    for (int k = 0; k < kernel_height; ++k) {
      const float weight = ky[k];
      const float* in = horizontal.data() + static_cast<std::size_t>(reflect_index(y + k - ry, h)) * row_values;
      for (std::size_t i = 0; i < row_values; ++i) column_sum[i] += weight * in[i];
    }
    std::uint8_t* out = image.row(y);
    for (std::size_t i = 0; i < row_values; ++i) {
      // torch.round (half to even), then the cast back to uint8.
      out[i] = static_cast<std::uint8_t>(std::clamp(std::nearbyint(column_sum[i]), 0.0f, 255.0f));
    }
  }
}

AffineMatrix inverse_affine_matrix(double center_x, double center_y, double angle, double translate_x,
                                   double translate_y, double scale, double shear_x, double shear_y) {
  const double rot = angle * kDegreesToRadians;
  const double sx = shear_x * kDegreesToRadians;
  const double sy = shear_y * kDegreesToRadians;
  // Rotation-scale-shear, then its inverse (its determinant is 1), then the center and translation.
  const double a = std::cos(rot - sy) / std::cos(sy);
  const double b = -std::cos(rot - sy) * std::tan(sx) / std::cos(sy) - std::sin(rot);
  const double c = std::sin(rot - sy) / std::cos(sy);
  const double d = -std::sin(rot - sy) * std::tan(sx) / std::cos(sy) + std::cos(rot);
  AffineMatrix m{d, -b, 0.0, -c, a, 0.0};
  for (auto& value : m) value /= scale;
  m[2] += m[0] * (-center_x - translate_x) + m[1] * (-center_y - translate_y);
  m[5] += m[3] * (-center_x - translate_x) + m[4] * (-center_y - translate_y);
  m[2] += center_x;
  m[5] += center_y;
  return m;
}

Image affine_nearest(const Image& image, const AffineMatrix& a, std::uint8_t fill) {
  const int w = image.width, h = image.height;
  const std::size_t c = static_cast<std::size_t>(image.channels);
  Image out(w, h, image.channels);
  std::fill(out.pixels.begin(), out.pixels.end(), fill);
  if (image.empty()) return out;
  const auto copy_pixel = [&](std::uint8_t* dst, int xin, int yin) {
    std::memcpy(dst, image.row(yin) + static_cast<std::size_t>(xin) * c, c);
  };

  if (a[1] == 0.0 && a[3] == 0.0) {
    // ImagingScaleAffine: source columns tabulated once, accumulated in double.
    std::vector<int> source_x(static_cast<std::size_t>(w), 0);
    int xmin = w, xmax = 0;
    double xo = a[2] + a[0] * 0.5;
    for (int x = 0; x < w; ++x) {
      const int xin = pil_coord(xo);
      if (xin >= 0 && xin < w) {
        xmax = x + 1;
        xmin = std::min(xmin, x);
        source_x[x] = xin;
      }
      xo += a[0];
    }
    double yo = a[5] + a[4] * 0.5;
    for (int y = 0; y < h; ++y) {
      const int yin = pil_coord(yo);
      if (yin >= 0 && yin < h) {
        std::uint8_t* dst = out.row(y);
        for (int x = xmin; x < xmax; ++x) copy_pixel(dst + x * c, source_x[x], yin);
      }
      yo += a[4];
    }
    return out;
  }

  const auto fits_fixed = [&](int x, int y) {
    return std::fabs(x * a[0] + y * a[1] + a[2]) < 32768.0 && std::fabs(x * a[3] + y * a[4] + a[5]) < 32768.0;
  };
  if (fits_fixed(0, 0) && fits_fixed(w, h) && fits_fixed(0, h) && fits_fixed(w, 0)) {
    // affine_fixed: 16.16 fixed point, the pixel-center offset folded into the start.
    const int a0 = pil_fixed(a[0]), a1 = pil_fixed(a[1]), a3 = pil_fixed(a[3]), a4 = pil_fixed(a[4]);
    int row_x = pil_fixed(a[2] + a[0] * 0.5 + a[1] * 0.5);
    int row_y = pil_fixed(a[5] + a[3] * 0.5 + a[4] * 0.5);
    for (int y = 0; y < h; ++y) {
      std::uint8_t* dst = out.row(y);
      int xx = row_x, yy = row_y;
      for (int x = 0; x < w; ++x, dst += c) {
        const int xin = xx >> 16, yin = yy >> 16;  // arithmetic shift: floor
        if (xin >= 0 && xin < w && yin >= 0 && yin < h) copy_pixel(dst, xin, yin);
        xx += a0;
        yy += a3;
      }
      row_x += a1;
      row_y += a4;
    }
    return out;
  }

  // Coordinates too large for 16.16: PIL's floating-point loop.
  double xo = a[2] + a[1] * 0.5 + a[0] * 0.5;
  double yo = a[5] + a[4] * 0.5 + a[3] * 0.5;
  for (int y = 0; y < h; ++y) {
    std::uint8_t* dst = out.row(y);
    double xx = xo, yy = yo;
    for (int x = 0; x < w; ++x, dst += c) {
      const int xin = pil_coord(xx), yin = pil_coord(yy);
      if (xin >= 0 && xin < w && yin >= 0 && yin < h) copy_pixel(dst, xin, yin);
      xx += a[0];
      yy += a[3];
    }
    xo += a[1];
    yo += a[4];
  }
  return out;
}

void shear_x(Image& image, double magnitude, std::uint8_t fill) {
  const double degrees = std::atan(magnitude) * kRadiansToDegrees;
  image = affine_nearest(image, inverse_affine_matrix(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, degrees, 0.0), fill);
}

void shear_y(Image& image, double magnitude, std::uint8_t fill) {
  const double degrees = std::atan(magnitude) * kRadiansToDegrees;
  image = affine_nearest(image, inverse_affine_matrix(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, degrees), fill);
}

void translate_x(Image& image, int pixels, std::uint8_t fill) {
  const auto matrix = inverse_affine_matrix(image.width * 0.5, image.height * 0.5, 0.0, pixels, 0.0, 1.0, 0.0, 0.0);
  image = affine_nearest(image, matrix, fill);
}

void translate_y(Image& image, int pixels, std::uint8_t fill) {
  const auto matrix = inverse_affine_matrix(image.width * 0.5, image.height * 0.5, 0.0, 0.0, pixels, 1.0, 0.0, 0.0);
  image = affine_nearest(image, matrix, fill);
}

void rotate(Image& image, double degrees, std::uint8_t fill) {
  const double angle = python_mod(degrees, 360.0);
  if (angle == 0.0) return;
  if (angle == 180.0) {
    image = rotate_quarter_turns(image, 2);
    return;
  }
  if ((angle == 90.0 || angle == 270.0) && image.width == image.height) {
    image = rotate_quarter_turns(image, angle == 90.0 ? 1 : 3);
    return;
  }
  const double center_x = image.width / 2.0, center_y = image.height / 2.0;
  const double radians = -(angle * kDegreesToRadians);
  AffineMatrix m{round_15_decimals(std::cos(radians)), round_15_decimals(std::sin(radians)), 0.0,
                 round_15_decimals(-std::sin(radians)), round_15_decimals(std::cos(radians)), 0.0};
  const double x = -center_x, y = -center_y;
  m[2] = m[0] * x + m[1] * y + m[2];
  m[5] = m[3] * x + m[4] * y + m[5];
  m[2] += center_x;
  m[5] += center_y;
  image = affine_nearest(image, m, fill);
}

}  // namespace autotimm::transforms
