#include "resample.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "autotimm/error.hpp"

namespace autotimm::transforms {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // PIL's: room for 8-bit pixels times weights summed without overflow

struct Filter {
  double support;
  double (*weight)(double);
};

double box_weight(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }
double triangle_weight(double x) {
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}
double hamming_weight(double x) {
  x = std::abs(x);
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x *= std::numbers::pi;
  return std::sin(x) / x * (0.46 + 0.54 * std::cos(x));
}
double bicubic_weight(double x) {
  constexpr double a = -0.5;  // PIL's (and torchvision's antialiased) cubic coefficient
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}
double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= std::numbers::pi;
  return std::sin(x) / x;
}
double lanczos_weight(double x) { return (x > -3.0 && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0; }

Filter filter_of(Interpolation interpolation) {
  switch (interpolation) {
    case Interpolation::box: return {0.5, &box_weight};
    case Interpolation::bilinear: return {1.0, &triangle_weight};
    case Interpolation::hamming: return {1.0, &hamming_weight};
    case Interpolation::bicubic: return {2.0, &bicubic_weight};
    case Interpolation::lanczos: return {3.0, &lanczos_weight};
    case Interpolation::nearest: break;
  }
  throw ConfigError("nearest has no resampling filter");
}

/// For each output index: the first input index and fixed-point weights of the taps.
struct Taps {
  int count = 0;                 ///< taps per output (the widest; unused ones weigh 0)
  std::vector<int> first = {};   ///< per output
  std::vector<int> weights = {};  ///< per output × count
};

Taps compute_taps(int in_size, int out_size, const Filter& filter) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter.support * filter_scale;
  Taps taps;
  taps.count = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.weights.assign(static_cast<std::size_t>(out_size) * taps.count, 0);
  std::vector<double> k(taps.count);
  for (int out = 0; out < out_size; ++out) {
    const double center = (out + 0.5) * scale;
    const double inverse = 1.0 / filter_scale;
    // PIL truncates toward zero here; the max/min keep the window inside the input.
    const int low = std::max(static_cast<int>(center - support + 0.5), 0);
    const int high = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = std::min(high - low, taps.count);
    double total = 0.0;
    for (int i = 0; i < n; ++i) {
      k[i] = filter.weight((i + low - center + 0.5) * inverse);
      total += k[i];
    }
    taps.first[out] = low;
    int* w = &taps.weights[static_cast<std::size_t>(out) * taps.count];
    for (int i = 0; i < n; ++i) {
      const double normalized = total != 0.0 ? k[i] / total : 0.0;
      w[i] = static_cast<int>(std::lround(normalized * (1 << kPrecisionBits)));  // PIL rounds half away from 0
    }
  }
  return taps;
}

inline std::uint8_t clip8(int accumulated) {
  const int value = accumulated >> kPrecisionBits;
  return static_cast<std::uint8_t>(value < 0 ? 0 : (value > 255 ? 255 : value));
}

/// Rows [row_begin, row_end) of the ROI resized horizontally to `width`, output columns [column_begin, column_end).
Image resample_horizontal(const Image& source, PixelRect roi, int row_begin, int row_end, int width,
                          int column_begin, int column_end, const Filter& filter) {
  const int channels = source.channels;
  const Taps taps = compute_taps(roi.width, width, filter);
  Image out(column_end - column_begin, row_end - row_begin, channels);
  constexpr int kHalf = 1 << (kPrecisionBits - 1);
  for (int y = row_begin; y < row_end; ++y) {
    const std::uint8_t* in = source.row(roi.y + y) + static_cast<std::size_t>(roi.x) * channels;
    std::uint8_t* dst = out.row(y - row_begin) - static_cast<std::size_t>(column_begin) * channels;
    for (int x = column_begin; x < column_end; ++x) {
      const int* w = &taps.weights[static_cast<std::size_t>(x) * taps.count];
      const std::uint8_t* p = in + static_cast<std::size_t>(taps.first[x]) * channels;
      const int n = std::min(taps.count, roi.width - taps.first[x]);
      if (channels == 3) {
        int r = kHalf, g = kHalf, b = kHalf;
        for (int i = 0; i < n; ++i, p += 3) {
          r += p[0] * w[i];
          g += p[1] * w[i];
          b += p[2] * w[i];
        }
        dst[3 * x] = clip8(r);
        dst[3 * x + 1] = clip8(g);
        dst[3 * x + 2] = clip8(b);
      } else {
        for (int c = 0; c < channels; ++c) {
          int acc = kHalf;
          for (int i = 0; i < n; ++i) acc += p[i * channels + c] * w[i];
          dst[channels * x + c] = clip8(acc);
        }
      }
    }
  }
  return out;
}

/// `source` (already as wide as the output) resized vertically to `height`, output rows [row_begin, row_end);
/// `offset` is the ROI row of source's first row.
Image resample_vertical(const Image& source, int roi_height, int offset, int height, int row_begin, int row_end,
                        const Filter& filter) {
  const Taps taps = compute_taps(roi_height, height, filter);
  Image out(source.width, row_end - row_begin, source.channels);
  const std::size_t row = source.row_bytes();
  std::vector<int> acc(row);
  constexpr int kHalf = 1 << (kPrecisionBits - 1);
  for (int y = row_begin; y < row_end; ++y) {
    std::fill(acc.begin(), acc.end(), kHalf);
    const int* w = &taps.weights[static_cast<std::size_t>(y) * taps.count];
    const int n = std::min(taps.count, roi_height - taps.first[y]);
    for (int i = 0; i < n; ++i) {
      const std::uint8_t* in = source.row(taps.first[y] + i - offset);
      const int weight = w[i];
      for (std::size_t j = 0; j < row; ++j) acc[j] += in[j] * weight;
    }
    std::uint8_t* dst = out.row(y - row_begin);
    for (std::size_t j = 0; j < row; ++j) dst[j] = clip8(acc[j]);
  }
  return out;
}

Image crop(const Image& source, PixelRect roi) {
  Image out(roi.width, roi.height, source.channels);
  for (int y = 0; y < roi.height; ++y) {
    std::copy_n(source.row(roi.y + y) + static_cast<std::size_t>(roi.x) * source.channels, out.row_bytes(), out.row(y));
  }
  return out;
}

Image resample_nearest(const Image& source, PixelRect roi, int width, int height, PixelRect window) {
  // PIL's nearest: the input pixel under each output pixel's center.
  Image out(window.width, window.height, source.channels);
  const double sx = static_cast<double>(roi.width) / width, sy = static_cast<double>(roi.height) / height;
  std::vector<int> xs(window.width);
  for (int x = 0; x < window.width; ++x) {
    xs[x] = std::min(static_cast<int>((x + window.x + 0.5) * sx), roi.width - 1) + roi.x;
  }
  for (int y = 0; y < window.height; ++y) {
    const std::uint8_t* in =
        source.row(std::min(static_cast<int>((y + window.y + 0.5) * sy), roi.height - 1) + roi.y);
    std::uint8_t* dst = out.row(y);
    for (int x = 0; x < window.width; ++x) {
      std::copy_n(in + static_cast<std::size_t>(xs[x]) * source.channels, source.channels, dst + x * source.channels);
    }
  }
  return out;
}

}  // namespace

Image resample(const Image& source, PixelRect roi, int width, int height, Interpolation interpolation) {
  return resample(source, roi, width, height, interpolation, PixelRect{0, 0, width, height});
}

Image resample(const Image& source, PixelRect roi, int width, int height, Interpolation interpolation,
               PixelRect window) {
  if (roi.x < 0 || roi.y < 0 || roi.width <= 0 || roi.height <= 0 || roi.x + roi.width > source.width ||
      roi.y + roi.height > source.height) {
    throw ConfigError("resample: region " + std::to_string(roi.width) + "x" + std::to_string(roi.height) + "+" +
                      std::to_string(roi.x) + "+" + std::to_string(roi.y) + " is outside the " +
                      std::to_string(source.width) + "x" + std::to_string(source.height) + " image");
  }
  if (width <= 0 || height <= 0) {
    throw ConfigError("resample: output size " + std::to_string(width) + "x" + std::to_string(height) +
                      " must be positive");
  }
  if (window.x < 0 || window.y < 0 || window.width <= 0 || window.height <= 0 || window.x + window.width > width ||
      window.y + window.height > height) {
    throw ConfigError("resample: the output window is outside the " + std::to_string(width) + "x" +
                      std::to_string(height) + " result");
  }
  const bool horizontal = width != roi.width;
  const bool vertical = height != roi.height;
  if (!horizontal && !vertical) {
    return crop(source, {roi.x + window.x, roi.y + window.y, window.width, window.height});
  }
  if (interpolation == Interpolation::nearest) return resample_nearest(source, roi, width, height, window);
  const Filter filter = filter_of(interpolation);

  if (!vertical) {
    const PixelRect rows{roi.x, roi.y + window.y, roi.width, window.height};
    return resample_horizontal(source, rows, 0, window.height, width, window.x, window.x + window.width, filter);
  }
  if (!horizontal) {
    // The vertical pass reads whole rows: crop the window's columns first (cheap) so they are contiguous.
    const Image columns = crop(source, {roi.x + window.x, 0, window.width, source.height});
    return resample_vertical(columns, roi.height, -roi.y, height, window.y, window.y + window.height, filter);
  }
  // Only the rows the vertical pass will read, and only the window's columns, go through the horizontal pass.
  const Taps rows = compute_taps(roi.height, height, filter);
  const int first = rows.first[window.y];
  const int last = std::min(rows.first[window.y + window.height - 1] + rows.count, roi.height);
  const Image wide =
      resample_horizontal(source, roi, first, last, width, window.x, window.x + window.width, filter);
  return resample_vertical(wide, roi.height, first, height, window.y, window.y + window.height, filter);
}

}  // namespace autotimm::transforms
