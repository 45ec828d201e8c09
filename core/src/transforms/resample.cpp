#include "resample.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#define AUTOTIMM_RESAMPLE_AVX2 1
#else
#define AUTOTIMM_RESAMPLE_AVX2 0
#endif

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

bool has_avx2() {
#if AUTOTIMM_RESAMPLE_AVX2
  static const bool supported = __builtin_cpu_supports("avx2");
  return supported;
#else
  return false;
#endif
}

inline std::uint8_t clip8(std::int32_t accumulated) {
  const std::int32_t value = accumulated >> kPrecisionBits;
  return static_cast<std::uint8_t>(value < 0 ? 0 : (value > 255 ? 255 : value));
}

#if AUTOTIMM_RESAMPLE_AVX2
/// Horizontal-pass weights laid out for horizontal_rgb_avx2: per output, the taps in pairs, each weight repeated
/// over a pixel's four int32 lanes (R, G, B, unused), zero past the taps used.
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

/// Horizontal pass over RGB rows [row_begin, row_end) with AVX2: each row widened once to int32 lanes (R, G, B, 0
/// per pixel; every input pixel serves several outputs), then per output two taps per multiply-add, the sum
/// shifted and saturated to bytes in registers. Integer sums are exact in any order: PIL's bytes.
__attribute__((target("avx2"))) void horizontal_rgb_avx2(const PixelView& source, int row_begin, int row_end,
                                                         const Taps& taps, const PairedWeights& weights,
                                                         std::vector<std::int32_t>& wide, Image& out) {
  const int x_begin = taps.begin(), x_end = taps.end();
  const int span = x_end - x_begin;
  const int outputs = static_cast<int>(taps.first.size());
  if (span <= 0) return;  // no tap weighs anything: the output stays 0, as in PIL
  // Zero padding: every output reads 2 · pairs taps, the ones past its own weigh 0.
  wide.assign(static_cast<std::size_t>(span + 2 * weights.pairs) * 4, 0);
  // Plain pointers: through the (thread-local) vector, every access would reload it.
  std::int32_t* const widened = wide.data();
  const std::int32_t* const all_weights = weights.values.data();
  const int* const first = taps.first.data();
  const int pairs = weights.pairs;
  const __m128i rgb_lanes = _mm_setr_epi32(-1, -1, -1, 0);
  const __m128i half = _mm_set1_epi32(kHalf);
  for (int y = row_begin; y < row_end; ++y) {
    const std::uint8_t* in = source.pixel(x_begin, y);
    // Four bytes per pixel loaded at once (the fourth, the next pixel's red, masked off); the row's last pixel
    // byte by byte, since its fourth byte may lie past the buffer.
    for (int i = 0; i + 1 < span; ++i) {
      std::int32_t packed;
      std::memcpy(&packed, in + 3 * i, 4);
      const __m128i lanes = _mm_and_si128(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(packed)), rgb_lanes);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(widened + 4 * i), lanes);
    }
    const std::uint8_t* last = in + 3 * (span - 1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(widened + 4 * (span - 1)),
                     _mm_setr_epi32(last[0], last[1], last[2], 0));
    std::uint8_t* dst = out.row(y - row_begin);
    for (int j = 0; j < outputs; ++j) {
      const std::int32_t* p = widened + 4 * (first[j] - x_begin);
      const std::int32_t* w = all_weights + static_cast<std::size_t>(j) * pairs * 8;
      __m256i acc = _mm256_setzero_si256();
      for (int pair = 0; pair < pairs; ++pair) {
        const __m256i pixels = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 8 * pair));
        const __m256i weight = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 8 * pair));
        acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(pixels, weight));
      }
      __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
      sum = _mm_srai_epi32(_mm_add_epi32(sum, half), kPrecisionBits);
      // Saturating packs clamp to 0..255 exactly as clip8 does.
      const __m128i bytes = _mm_packus_epi16(_mm_packus_epi32(sum, sum), sum);
      const std::uint32_t rgb = static_cast<std::uint32_t>(_mm_cvtsi128_si32(bytes));
      if (j + 1 < outputs) {
        std::memcpy(dst + 3 * j, &rgb, 4);  // the fourth byte lands on the next pixel's red, written next
      } else {
        std::memcpy(dst + 3 * j, &rgb, 3);
      }
    }
  }
}

#endif

/// The horizontal pass for any channel count (and CPUs without AVX2), one channel at a time.
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

/// One output row of the vertical pass: `length` bytes, the weighted sum of `n` input rows.
void vertical_row(const std::uint8_t* const* rows, const std::int32_t* w, int n, std::size_t length,
                  std::uint8_t* dst, std::size_t from = 0) {
  for (std::size_t j = from; j < length; ++j) {
    std::int32_t acc = kHalf;
    for (int i = 0; i < n; ++i) acc += rows[i][j] * w[i];
    dst[j] = clip8(acc);
  }
}

#if AUTOTIMM_RESAMPLE_AVX2
/// The same with AVX2, 32 bytes at a time: four registers of int32 accumulators stay live across the taps, then
/// shift and saturating packs give clip8's bytes.
__attribute__((target("avx2"))) void vertical_row_avx2(const std::uint8_t* const* rows, const std::int32_t* w,
                                                       int n, std::size_t length, std::uint8_t* dst) {
  const __m256i half = _mm256_set1_epi32(kHalf);
  std::size_t j = 0;
  for (; j + 32 <= length; j += 32) {
    __m256i acc0 = half, acc1 = half, acc2 = half, acc3 = half;
    for (int i = 0; i < n; ++i) {
      const __m256i weight = _mm256_set1_epi32(w[i]);
      const __m128i low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[i] + j));
      const __m128i high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[i] + j + 16));
      acc0 = _mm256_add_epi32(acc0, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(low), weight));
      acc1 = _mm256_add_epi32(acc1, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(low, 8)), weight));
      acc2 = _mm256_add_epi32(acc2, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(high), weight));
      acc3 = _mm256_add_epi32(acc3, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(high, 8)), weight));
    }
    // packus works within 128-bit lanes: the permute puts the 16-bit values back in order.
    const __m256i words_low = _mm256_permute4x64_epi64(
        _mm256_packus_epi32(_mm256_srai_epi32(acc0, kPrecisionBits), _mm256_srai_epi32(acc1, kPrecisionBits)), 0xD8);
    const __m256i words_high = _mm256_permute4x64_epi64(
        _mm256_packus_epi32(_mm256_srai_epi32(acc2, kPrecisionBits), _mm256_srai_epi32(acc3, kPrecisionBits)), 0xD8);
    const __m256i bytes = _mm256_permute4x64_epi64(_mm256_packus_epi16(words_low, words_high), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j), bytes);
  }
  vertical_row(rows, w, n, length, dst, j);
}
#endif

/// Vertical pass: `source` rows (already resampled horizontally, or the input's window columns) starting at
/// column `x` into the window's rows.
void vertical(const PixelView& source, int x, const Taps& taps, Image& out) {
  const std::size_t length = out.row_bytes();
  std::vector<const std::uint8_t*> rows(static_cast<std::size_t>(taps.count));
  for (std::size_t j = 0; j < taps.first.size(); ++j) {
    const int n = taps.used[j];
    for (int i = 0; i < n; ++i) rows[i] = source.pixel(x, taps.first[j] + i);
    const std::int32_t* w = &taps.weights[j * taps.count];
    std::uint8_t* dst = out.row(static_cast<int>(j));
#if AUTOTIMM_RESAMPLE_AVX2
    if (has_avx2()) {
      vertical_row_avx2(rows.data(), w, n, length, dst);
      continue;
    }
#endif
    vertical_row(rows.data(), w, n, length, dst);
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
#if AUTOTIMM_RESAMPLE_AVX2
    if (channels == 3 && has_avx2()) {
      thread_local std::vector<std::int32_t> widened;  // reused: no fresh pages per image
      thread_local PairedWeights paired;
      pair_weights(taps, paired);
      horizontal_rgb_avx2(source, row_begin, row_end, taps, paired, widened, into);
      return;
    }
#endif
    horizontal_any(source, row_begin, row_end, taps, into);
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
