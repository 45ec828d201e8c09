#include "autotimm/tuner/lr_finder.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/image.hpp"
#include "autotimm/error.hpp"

namespace autotimm {

std::optional<double> suggest_lr(const std::vector<double>& lrs, const std::vector<double>& losses) {
  constexpr std::size_t kSkipBegin = 10, kSkipEnd = 1;
  const std::size_t n = std::min(lrs.size(), losses.size());
  if (n < kSkipBegin + kSkipEnd + 2) return std::nullopt;
  const std::size_t first = kSkipBegin, last = n - kSkipEnd;  // [first, last)
  std::optional<std::size_t> best;
  double steepest = 0.0;
  for (std::size_t i = first; i < last; ++i) {
    // numpy.gradient of the kept slice: one-sided at its ends, central inside.
    const double slope = i == first      ? losses[i + 1] - losses[i]
                         : i + 1 == last ? losses[i] - losses[i - 1]
                                         : (losses[i + 1] - losses[i - 1]) / 2.0;
    if (std::isfinite(slope) && (!best || slope < steepest)) {
      best = i;
      steepest = slope;
    }
  }
  if (!best) return std::nullopt;
  return lrs[*best];
}

namespace {

void put(Image& image, int x, int y, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  image.at(x, y, 0) = r;
  image.at(x, y, 1) = g;
  image.at(x, y, 2) = b;
}

void line(Image& image, int x0, int y0, int x1, int y1, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  for (int err = dx + dy;;) {  // Bresenham
    put(image, x0, y0, r, g, b);
    if (x0 == x1 && y0 == y1) return;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

}  // namespace

void write_lr_plot(const std::filesystem::path& path, const LrFinderResult& result, bool log_x) {
  constexpr int kWidth = 640, kHeight = 400, kMargin = 40;
  Image image(kWidth, kHeight, 3);
  std::fill(image.pixels.begin(), image.pixels.end(), std::uint8_t{255});
  // Axes.
  line(image, kMargin, kHeight - kMargin, kWidth - kMargin, kHeight - kMargin, 0, 0, 0);
  line(image, kMargin, kMargin, kMargin, kHeight - kMargin, 0, 0, 0);
  std::vector<std::pair<double, double>> points;
  for (std::size_t i = 0; i < std::min(result.lrs.size(), result.losses.size()); ++i) {
    if (std::isfinite(result.losses[i]) && result.lrs[i] > 0) {
      points.emplace_back(log_x ? std::log10(result.lrs[i]) : result.lrs[i], result.losses[i]);
    }
  }
  if (points.size() >= 2) {
    auto [min_x, max_x] = std::minmax_element(points.begin(), points.end());
    const double x0 = min_x->first, x1 = std::max(max_x->first, x0 + 1e-12);
    double y0 = points.front().second, y1 = y0;
    for (const auto& p : points) y0 = std::min(y0, p.second), y1 = std::max(y1, p.second);
    y1 = std::max(y1, y0 + 1e-12);
    auto px = [&](double x) { return kMargin + static_cast<int>((x - x0) / (x1 - x0) * (kWidth - 2 * kMargin)); };
    auto py = [&](double y) { return kHeight - kMargin - static_cast<int>((y - y0) / (y1 - y0) * (kHeight - 2 * kMargin)); };
    for (std::size_t i = 1; i < points.size(); ++i) {
      line(image, px(points[i - 1].first), py(points[i - 1].second), px(points[i].first), py(points[i].second), 31,
           119, 180);
    }
    if (result.suggestion) {
      const int x = px(log_x ? std::log10(*result.suggestion) : *result.suggestion);
      line(image, x, kMargin, x, kHeight - kMargin, 214, 39, 40);  // the suggestion, a red vertical line
    }
  }
  std::filesystem::create_directories(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
  write_image(path, image);
}

}  // namespace autotimm
