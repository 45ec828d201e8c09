#include "autotimm/interpret/heatmap_image.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <string>

#include "autotimm/error.hpp"

namespace autotimm::interpret {
namespace {

// A colour channel as a piecewise-linear function of t in [0, 1]: (t, value) knots, t increasing from 0 to 1.
struct Knot {
  double t = 0.0;
  double value = 0.0;
};

double piecewise_linear(std::span<const Knot> knots, double t) {
  if (t <= knots.front().t) return knots.front().value;
  for (std::size_t i = 1; i < knots.size(); ++i) {
    if (t <= knots[i].t) {
      const Knot& a = knots[i - 1];
      const Knot& b = knots[i];
      return a.value + (b.value - a.value) * (t - a.t) / (b.t - a.t);
    }
  }
  return knots.back().value;
}

// matplotlib's jet: segment data of its red, green and blue channels.
constexpr std::array<Knot, 5> kJetRed = {{{0.0, 0.0}, {0.35, 0.0}, {0.66, 1.0}, {0.89, 1.0}, {1.0, 0.5}}};
constexpr std::array<Knot, 6> kJetGreen = {
    {{0.0, 0.0}, {0.125, 0.0}, {0.375, 1.0}, {0.64, 1.0}, {0.91, 0.0}, {1.0, 0.0}}};
constexpr std::array<Knot, 5> kJetBlue = {{{0.0, 0.5}, {0.11, 1.0}, {0.34, 1.0}, {0.65, 0.0}, {1.0, 0.0}}};

// matplotlib's viridis and inferno (256-entry tables) sampled at t = 0, 1/9, ..., 1 as 8-bit RGB; between the
// samples the colour is interpolated linearly, which stays within a few levels of the full tables.
using Table = std::array<std::array<int, 3>, 10>;
constexpr Table kViridis = {{{0x44, 0x01, 0x54}, {0x48, 0x28, 0x78}, {0x3e, 0x49, 0x89}, {0x31, 0x68, 0x8e},
                             {0x26, 0x82, 0x8e}, {0x1f, 0x9e, 0x89}, {0x35, 0xb7, 0x79}, {0x6e, 0xce, 0x58},
                             {0xb5, 0xde, 0x2b}, {0xfd, 0xe7, 0x25}}};
constexpr Table kInferno = {{{0x00, 0x00, 0x04}, {0x1b, 0x0c, 0x41}, {0x4a, 0x0c, 0x6b}, {0x78, 0x1c, 0x6d},
                             {0xa5, 0x2c, 0x60}, {0xcf, 0x44, 0x46}, {0xed, 0x69, 0x25}, {0xfb, 0x9b, 0x06},
                             {0xf7, 0xd1, 0x3d}, {0xfc, 0xff, 0xa4}}};

std::array<double, 3> from_table(const Table& table, double t) {
  const double position = t * static_cast<double>(table.size() - 1);
  const auto low = std::min(static_cast<std::size_t>(position), table.size() - 2);
  const double f = position - static_cast<double>(low);
  std::array<double, 3> rgb = {};
  for (std::size_t c = 0; c < 3; ++c) {
    rgb[c] = ((1.0 - f) * table[low][c] + f * table[low + 1][c]) / 255.0;
  }
  return rgb;
}

/// The colour of t in [0, 1], each channel in [0, 1].
std::array<double, 3> colour_of(Colormap colormap, double t) {
  switch (colormap) {
    case Colormap::jet:
      return {piecewise_linear(kJetRed, t), piecewise_linear(kJetGreen, t), piecewise_linear(kJetBlue, t)};
    case Colormap::viridis:
      return from_table(kViridis, t);
    case Colormap::inferno:
      return from_table(kInferno, t);
    case Colormap::gray:
      return {t, t, t};
  }
  return {t, t, t};
}

std::uint8_t to_byte(double value) {
  return static_cast<std::uint8_t>(std::lround(std::clamp(value, 0.0, 1.0) * 255.0));
}

std::string shape_of(const at::Tensor& tensor) {
  std::string text = "[";
  for (std::int64_t d = 0; d < tensor.dim(); ++d) text += (d ? ", " : "") + std::to_string(tensor.size(d));
  return text + "]";
}

constexpr std::array<std::string_view, 4> kColormapNames = {"jet", "viridis", "inferno", "gray"};

}  // namespace

Colormap parse_colormap(std::string_view name) {
  for (std::size_t i = 0; i < kColormapNames.size(); ++i) {
    if (name == kColormapNames[i]) return static_cast<Colormap>(i);
  }
  throw ConfigError("colormap '" + std::string(name) + "': unknown; expected one of jet, viridis, inferno, gray");
}

std::string_view colormap_name(Colormap colormap) { return kColormapNames.at(static_cast<std::size_t>(colormap)); }

at::Tensor resize_heatmap(const at::Tensor& heatmap, std::int64_t height, std::int64_t width) {
  if (!heatmap.defined() || heatmap.dim() < 2) {
    throw ConfigError("resize_heatmap: expected a map of [..., h, w], got " +
                      (heatmap.defined() ? shape_of(heatmap) : std::string("an undefined tensor")));
  }
  if (height <= 0 || width <= 0) {
    throw ConfigError("resize_heatmap: the output size must be positive, got " + std::to_string(height) + " x " +
                      std::to_string(width));
  }
  const at::Tensor maps = heatmap.is_floating_point() ? heatmap : heatmap.to(torch::kFloat);
  const std::int64_t h = maps.size(-2);
  const std::int64_t w = maps.size(-1);
  if (h == height && w == width) return maps;
  std::vector<std::int64_t> out_shape(maps.sizes().begin(), maps.sizes().end());
  out_shape[out_shape.size() - 2] = height;
  out_shape.back() = width;
  namespace F = torch::nn::functional;
  const at::Tensor resized =
      F::interpolate(maps.reshape({-1, 1, h, w}), F::InterpolateFuncOptions()
                                                      .size(std::vector<std::int64_t>{height, width})
                                                      .mode(torch::kBilinear)
                                                      .align_corners(false));
  return resized.reshape(out_shape);
}

at::Tensor normalize_heatmap(const at::Tensor& heatmap) {
  if (!heatmap.defined() || heatmap.dim() < 2) {
    throw ConfigError("normalize_heatmap: expected maps of [..., H, W], got " +
                      (heatmap.defined() ? shape_of(heatmap) : std::string("an undefined tensor")));
  }
  const at::Tensor maps = heatmap.is_floating_point() ? heatmap : heatmap.to(torch::kFloat);
  if (maps.numel() == 0) return maps.clone();
  const auto flat = maps.flatten(-2);  // [..., H·W]
  const auto low = std::get<0>(flat.min(-1, /*keepdim=*/true));
  const auto high = std::get<0>(flat.max(-1, /*keepdim=*/true));
  const auto range = high - low;
  const auto scaled = torch::where(range > 0, (flat - low) / torch::where(range > 0, range, torch::ones_like(range)),
                                   torch::zeros_like(flat));
  return scaled.reshape(maps.sizes());
}

at::Tensor apply_colormap(const at::Tensor& heatmap, Colormap colormap) {
  if (!heatmap.defined() || heatmap.dim() != 2) {
    throw ConfigError("apply_colormap: expected a map of [H, W], got " +
                      (heatmap.defined() ? shape_of(heatmap) : std::string("an undefined tensor")));
  }
  const at::Tensor values = heatmap.detach().to(torch::kCPU, torch::kDouble).clamp(0.0, 1.0).contiguous();
  at::Tensor rgb = torch::empty({values.size(0), values.size(1), 3}, torch::kUInt8);
  const double* in = values.data_ptr<double>();
  std::uint8_t* out = rgb.data_ptr<std::uint8_t>();
  const std::int64_t count = values.numel();
  for (std::int64_t i = 0; i < count; ++i) {
    const double t = std::isnan(in[i]) ? 0.0 : in[i];
    const auto colour = colour_of(colormap, t);
    for (std::size_t c = 0; c < 3; ++c) out[3 * i + static_cast<std::int64_t>(c)] = to_byte(colour[c]);
  }
  return rgb;
}

Image overlay_heatmap(const Image& image, const at::Tensor& heatmap, double alpha, Colormap colormap) {
  if (!(alpha >= 0.0 && alpha <= 1.0)) {
    throw ConfigError("overlay_heatmap: alpha must lie in [0, 1], got " + std::to_string(alpha));
  }
  if (image.empty() || (image.channels != 1 && image.channels != 3)) {
    throw ConfigError("overlay_heatmap: expected a non-empty 8-bit RGB or gray image, got " +
                      std::to_string(image.width) + " x " + std::to_string(image.height) + " with " +
                      std::to_string(image.channels) + " channels");
  }
  if (!heatmap.defined() || heatmap.dim() != 2) {
    throw ConfigError("overlay_heatmap: expected a heatmap of [h, w], got " +
                      (heatmap.defined() ? shape_of(heatmap) : std::string("an undefined tensor")) +
                      "; select one map of a batch first");
  }
  const at::Tensor map = normalize_heatmap(resize_heatmap(heatmap.detach().to(torch::kCPU), image.height, image.width));
  const at::Tensor colours = apply_colormap(map, colormap);
  const std::uint8_t* colour = colours.data_ptr<std::uint8_t>();
  Image out(image.width, image.height, 3);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const std::size_t pixel = static_cast<std::size_t>(y) * static_cast<std::size_t>(image.width) +
                                static_cast<std::size_t>(x);
      for (int c = 0; c < 3; ++c) {
        const double base = image.at(x, y, image.channels == 3 ? c : 0);
        const double blended = (1.0 - alpha) * base + alpha * colour[3 * pixel + static_cast<std::size_t>(c)];
        out.at(x, y, c) = static_cast<std::uint8_t>(std::lround(std::clamp(blended, 0.0, 255.0)));
      }
    }
  }
  return out;
}

}  // namespace autotimm::interpret
