#include "resample.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <vector>

#include "autotimm/error.hpp"

namespace autotimm::transforms {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // PIL's: room for 8-bit pixels times weights summed without overflow
constexpr std::int32_t kHalf = 1 << (kPrecisionBits - 1);

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

/// For each output index of a window: the first input index (absolute) and fixed-point weights of the taps.
struct Taps {
  int count = 0;                      ///< taps per output (the widest; unused ones weigh 0)
  std::vector<int> first = {};        ///< per output
  std::vector<int> used = {};         ///< taps that can weigh anything, per output (first + used <= clip_end)
  std::vector<std::int32_t> weights = {};  ///< per output × count

  int begin() const { return first.front(); }
  int end() const {
    int last = 0;
    for (std::size_t i = 0; i < first.size(); ++i) last = std::max(last, first[i] + used[i]);
    return last;
  }
};

/// PIL's precompute_coeffs for outputs [out_begin, out_begin + out_count) of `axis`.
void compute_taps(const ResampleAxis& axis, int out_begin, int out_count, const Filter& filter, Taps& taps) {
  const double scale = axis.scale;
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter.support * filter_scale;
  const int in_size = axis.clip_end - axis.clip_begin;
  taps.count = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(static_cast<std::size_t>(out_count));
  taps.used.resize(static_cast<std::size_t>(out_count));
  taps.weights.assign(static_cast<std::size_t>(out_count) * taps.count, 0);
  std::vector<double> k(static_cast<std::size_t>(taps.count));
  const double inverse = 1.0 / filter_scale;
  for (int j = 0; j < out_count; ++j) {
    // The center relative to clip_begin; shift is 0.0 for PIL's own resizes, so this is PIL's (out + 0.5) * scale.
    const double center = (out_begin + j + 0.5) * scale + axis.shift;
    // PIL truncates toward zero here; the max/min keep the window inside the clip range.
    const int low = std::max(static_cast<int>(center - support + 0.5), 0);
    const int high = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = std::max(std::min(high - low, taps.count), 0);
    double total = 0.0;
    for (int i = 0; i < n; ++i) {
      k[i] = filter.weight((i + low - center + 0.5) * inverse);
      total += k[i];
    }
    taps.first[j] = axis.clip_begin + low;
    taps.used[j] = n;
    std::int32_t* w = &taps.weights[static_cast<std::size_t>(j) * taps.count];
    for (int i = 0; i < n; ++i) {
      const double normalized = total != 0.0 ? k[i] / total : 0.0;
      w[i] = static_cast<std::int32_t>(std::lround(normalized * (1 << kPrecisionBits)));  // half away from 0
    }
  }
}

inline std::uint8_t clip8(std::int32_t accumulated) {
  const std::int32_t value = accumulated >> kPrecisionBits;
  return static_cast<std::uint8_t>(value < 0 ? 0 : (value > 255 ? 255 : value));
}

/// Four int32 lanes: one pixel's R, G, B (and an unused lane) as the horizontal pass accumulates them.
using Lanes = std::int32_t __attribute__((vector_size(16)));
/// Two pixels' lanes at once (two taps per multiply-add); unaligned, as pixels sit at any 16-byte step.
using PairLanes = std::int32_t __attribute__((vector_size(32), aligned(4)));

/// Horizontal-pass weights laid out for horizontal_rgb: per output, the taps in pairs, each weight repeated over
/// a pixel's four lanes (zero past the taps used).
struct PairedWeights {
  int pairs = 0;
  std::vector<std::int32_t> values = {};  ///< per output × pairs × 8
};

void pair_weights(const Taps& taps, PairedWeights& paired) {
  paired.pairs = (taps.count + 1) / 2;
  const std::size_t outputs = taps.first.size();
  paired.values.assign(outputs * paired.pairs * 8, 0);
  for (std::size_t j = 0; j < outputs; ++j) {
    std::int32_t* out = &paired.values[j * paired.pairs * 8];
    for (int i = 0; i < taps.count; ++i) {
      for (int lane = 0; lane < 4; ++lane) out[i * 4 + lane] = taps.weights[j * taps.count + i];
    }
  }
}

/// Horizontal pass over RGB rows [row_begin, row_end): each row widened once to int32 lanes (every input pixel
/// serves several outputs), then per output two taps per vector multiply-add, then the sum shifted, clamped and
/// packed back to bytes in vector registers. Integer sums are exact in any order, so this gives PIL's bytes.
/// Built for AVX2 too and picked at run time.
__attribute__((target_clones("avx2", "default"))) void horizontal_rgb(const PixelView& source, int row_begin,
                                                                      int row_end, const Taps& taps,
                                                                      const PairedWeights& weights,
                                                                      std::vector<Lanes>& wide, Image& out) {
  const int x_begin = taps.begin(), x_end = taps.end();
  const int span = x_end - x_begin;
  const int outputs = static_cast<int>(taps.first.size());
  if (span <= 0) return;  // no tap weighs anything: the output stays 0, as in PIL
  // Zero padding: every output reads 2 · pairs taps, the ones past its own weigh 0.
  wide.assign(static_cast<std::size_t>(span + 2 * weights.pairs), Lanes{0, 0, 0, 0});
  const Lanes low_byte = {0xFF, 0xFF, 0xFF, 0};
  for (int y = row_begin; y < row_end; ++y) {
    const std::uint8_t* in = source.pixel(x_begin, y);
    // Four bytes per pixel read at once (the fourth, the next pixel's red, masked off); the row's last pixel
    // alone is read byte by byte, since its fourth byte may lie past the buffer.
    for (int i = 0; i + 1 < span; ++i) {
      std::uint32_t packed;
      std::memcpy(&packed, in + 3 * i, 4);
      wide[i] = Lanes{static_cast<std::int32_t>(packed), static_cast<std::int32_t>(packed >> 8),
                      static_cast<std::int32_t>(packed >> 16), 0} & low_byte;
    }
    wide[span - 1] = Lanes{in[3 * span - 3], in[3 * span - 2], in[3 * span - 1], 0};
    std::uint8_t* dst = out.row(y - row_begin);
    for (int j = 0; j < outputs; ++j) {
      const auto* p = reinterpret_cast<const std::int32_t*>(wide.data() + (taps.first[j] - x_begin));
      const std::int32_t* w = &weights.values[static_cast<std::size_t>(j) * weights.pairs * 8];
      PairLanes acc = {};
      for (int pair = 0; pair < weights.pairs; ++pair) {
        PairLanes pixels, weight;
        std::memcpy(&pixels, p + 8 * pair, sizeof(pixels));
        std::memcpy(&weight, w + 8 * pair, sizeof(weight));
        acc += pixels * weight;
      }
      const Lanes sum = Lanes{acc[0] + acc[4], acc[1] + acc[5], acc[2] + acc[6], 0} + kHalf;
      Lanes value = sum >> kPrecisionBits;
      value = value < 0 ? 0 : value;
      value = value > 255 ? 255 : value;
      dst[3 * j] = static_cast<std::uint8_t>(value[0]);
      dst[3 * j + 1] = static_cast<std::uint8_t>(value[1]);
      dst[3 * j + 2] = static_cast<std::uint8_t>(value[2]);
    }
  }
}

/// The same for any channel count, one channel at a time.
void horizontal_any(const PixelView& source, int row_begin, int row_end, const Taps& taps, Image& out) {
  const int channels = source.channels;
  const int outputs = static_cast<int>(taps.first.size());
  for (int y = row_begin; y < row_end; ++y) {
    std::uint8_t* dst = out.row(y - row_begin);
    for (int j = 0; j < outputs; ++j) {
      const std::uint8_t* p = source.pixel(taps.first[j], y);
      const std::int32_t* w = &taps.weights[static_cast<std::size_t>(j) * taps.count];
      for (int c = 0; c < channels; ++c) {
        std::int32_t acc = kHalf;
        for (int i = 0; i < taps.used[j]; ++i) acc += p[i * channels + c] * w[i];
        dst[channels * j + c] = clip8(acc);
      }
    }
  }
}

/// One output row of the vertical pass: `length` bytes, the weighted sum of `n` input rows. Blocks of 32 bytes
/// keep their accumulators in registers across the taps; the compiler vectorizes the fixed-size inner loops.
__attribute__((target_clones("avx2", "default"))) void vertical_row(const std::uint8_t* const* rows,
                                                                    const std::int32_t* w, int n, std::size_t length,
                                                                    std::uint8_t* dst) {
  constexpr std::size_t kBlock = 32;
  std::size_t j = 0;
  for (; j + kBlock <= length; j += kBlock) {
    std::int32_t acc[kBlock];
    for (std::size_t k = 0; k < kBlock; ++k) acc[k] = kHalf;
    for (int i = 0; i < n; ++i) {
      const std::uint8_t* in = rows[i] + j;
      const std::int32_t weight = w[i];
      for (std::size_t k = 0; k < kBlock; ++k) acc[k] += in[k] * weight;
    }
    for (std::size_t k = 0; k < kBlock; ++k) {
      const std::int32_t value = acc[k] >> kPrecisionBits;
      dst[j + k] = static_cast<std::uint8_t>(value < 0 ? 0 : (value > 255 ? 255 : value));
    }
  }
  for (; j < length; ++j) {
    std::int32_t acc = kHalf;
    for (int i = 0; i < n; ++i) acc += rows[i][j] * w[i];
    dst[j] = clip8(acc);
  }
}

/// Vertical pass: `source` rows (already resampled horizontally, or the input's window columns) starting at
/// column `x` into the window's rows.
void vertical(const PixelView& source, int x, const Taps& taps, Image& out) {
  const std::size_t length = out.row_bytes();
  std::vector<const std::uint8_t*> rows(static_cast<std::size_t>(taps.count));
  for (std::size_t j = 0; j < taps.first.size(); ++j) {
    const int n = taps.used[j];
    for (int i = 0; i < n; ++i) rows[i] = source.pixel(x, taps.first[j] + i);
    vertical_row(rows.data(), &taps.weights[j * taps.count], n, length, out.row(static_cast<int>(j)));
  }
}

/// PIL's nearest: the input pixel under each output pixel's center, clamped into the clip range.
std::vector<int> nearest_indices(const ResampleAxis& axis, int out_begin, int out_count) {
  std::vector<int> indices(static_cast<std::size_t>(out_count));
  const int last = axis.clip_end - axis.clip_begin - 1;
  for (int j = 0; j < out_count; ++j) {
    indices[j] = std::min(static_cast<int>((out_begin + j + 0.5) * axis.scale + axis.shift), last) + axis.clip_begin;
  }
  return indices;
}

void check_axis(const ResampleAxis& axis, const char* name) {
  if (axis.clip_end <= axis.clip_begin || !(axis.scale > 0.0) || !(axis.shift >= 0.0)) {
    throw ConfigError(std::string("resample: the ") + name + " axis is empty or has a non-positive scale");
  }
}

}  // namespace

PixelRect source_rect(const ResampleAxis& x, const ResampleAxis& y, PixelRect window, Interpolation interpolation) {
  const auto range = [&](const ResampleAxis& axis, int begin, int count) -> std::pair<int, int> {
    if (axis.identity()) return {axis.clip_begin + begin, axis.clip_begin + begin + count};
    if (interpolation == Interpolation::nearest) {
      const auto indices = nearest_indices(axis, begin, count);
      return {indices.front(), indices.back() + 1};  // nondecreasing
    }
    Taps taps;
    compute_taps(axis, begin, count, filter_of(interpolation), taps);
    return {taps.begin(), taps.end()};
  };
  const auto [x0, x1] = range(x, window.x, window.width);
  const auto [y0, y1] = range(y, window.y, window.height);
  return {x0, y0, x1 - x0, y1 - y0};
}

Image resample(const PixelView& source, const ResampleAxis& x, const ResampleAxis& y, PixelRect window,
               Interpolation interpolation) {
  check_axis(x, "x");
  check_axis(y, "y");
  const int channels = source.channels;
  Image out(window.width, window.height, channels);
  if (x.identity() && y.identity()) {
    for (int row = 0; row < window.height; ++row) {
      std::memcpy(out.row(row), source.pixel(x.clip_begin + window.x, y.clip_begin + window.y + row),
                  out.row_bytes());
    }
    return out;
  }
  if (interpolation == Interpolation::nearest) {
    const auto xs = nearest_indices(x, window.x, window.width);
    const auto ys = nearest_indices(y, window.y, window.height);
    for (int row = 0; row < window.height; ++row) {
      std::uint8_t* dst = out.row(row);
      for (int column = 0; column < window.width; ++column) {
        std::memcpy(dst + static_cast<std::size_t>(column) * channels, source.pixel(xs[column], ys[row]),
                    static_cast<std::size_t>(channels));
      }
    }
    return out;
  }
  const Filter filter = filter_of(interpolation);
  const auto horizontal = [&](const Taps& taps, int row_begin, int row_end, Image& into) {
    if (channels == 3) {
      thread_local std::vector<Lanes> widened;  // reused: no fresh pages per image
      thread_local PairedWeights paired;
      pair_weights(taps, paired);
      horizontal_rgb(source, row_begin, row_end, taps, paired, widened, into);
    } else {
      horizontal_any(source, row_begin, row_end, taps, into);
    }
  };
  Taps columns, rows;
  if (!x.identity()) compute_taps(x, window.x, window.width, filter, columns);
  if (!y.identity()) compute_taps(y, window.y, window.height, filter, rows);
  if (y.identity()) {
    horizontal(columns, y.clip_begin + window.y, y.clip_begin + window.y + window.height, out);
    return out;
  }
  if (x.identity()) {
    vertical(source, x.clip_begin + window.x, rows, out);
    return out;
  }
  // Only the rows the vertical pass reads, and only the window's columns, go through the horizontal pass.
  const int first = rows.begin(), last = rows.end();
  thread_local Image wide;
  wide.width = window.width;
  wide.height = last - first;
  wide.channels = channels;
  wide.pixels.resize(static_cast<std::size_t>(wide.width) * wide.height * channels);
  horizontal(columns, first, last, wide);
  vertical(PixelView::of(wide, 0, first), 0, rows, out);
  return out;
}

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
  return resample(PixelView::of(source), ResampleAxis::of(roi.x, roi.width, width),
                  ResampleAxis::of(roi.y, roi.height, height), window, interpolation);
}

ResampleAxis scaled_axis(int roi_begin, int roi_size, int out_size, int scale, int scaled_size) {
  if (scale == 1) return ResampleAxis::of(roi_begin, roi_size, out_size);
  const double begin = static_cast<double>(roi_begin) / scale;
  const double end = static_cast<double>(roi_begin + roi_size) / scale;
  const int clip_begin = roi_begin / scale;
  const int clip_end = std::min((roi_begin + roi_size + scale - 1) / scale, scaled_size);
  return {clip_begin, clip_end, begin - clip_begin, (end - begin) / out_size};
}

}  // namespace autotimm::transforms
