// Moving a sample's targets with its pixels: one affine map per axis. Boxes are mapped, clipped to the new image and
// dropped when the crop left them too thin to be an object; label maps and instance masks are resampled by nearest
// neighbour.
#include <algorithm>
#include <cmath>
#include <optional>

#include "autotimm/data/sample_objects.hpp"
#include "autotimm/data/transform.hpp"

namespace autotimm {

std::array<double, 4> AxisMap::to_original(const std::array<double, 4>& box) const noexcept {
  const double x1 = (box[0] - offset_x) / scale_x, x2 = (box[2] - offset_x) / scale_x;
  const double y1 = (box[1] - offset_y) / scale_y, y2 = (box[3] - offset_y) / scale_y;
  return {std::min(x1, x2), std::min(y1, y2), std::max(x1, x2), std::max(y1, y2)};
}

namespace {

/// For each of `count` output pixels along an axis, the source pixel its centre maps back to (x' = s · x + t), or
/// -1 outside the source's `source_count` pixels.
std::vector<int> source_pixels(int count, int source_count, double s, double t) {
  std::vector<int> out(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const double u = std::floor((i + 0.5 - t) / s);
    out[static_cast<std::size_t>(i)] = u >= 0 && u < source_count ? static_cast<int>(u) : -1;
  }
  return out;
}

/// Nearest-neighbour resampling onto a new pixel grid: the source pixel of every output column and row.
struct PixelGrid {
  std::vector<int> columns;
  std::vector<int> rows;
  int source_width = 0;
  int source_height = 0;

  PixelGrid(const Image& source, double sx, double tx, double sy, double ty, int width, int height)
      : columns(source_pixels(width, source.width, sx, tx)), rows(source_pixels(height, source.height, sy, ty)),
        source_width(source.width), source_height(source.height) {}

  bool reads(const Image& mask) const noexcept { return mask.width == source_width && mask.height == source_height; }

  /// `mask` resampled; `fill` where no source pixel maps.
  Image resample(const Image& mask, std::uint8_t fill) const {
    const auto width = static_cast<int>(columns.size()), height = static_cast<int>(rows.size());
    Image out(width, height, 1);
    for (int y = 0; y < height; ++y) {
      std::uint8_t* target = out.row(y);
      const int source_y = rows[static_cast<std::size_t>(y)];
      if (source_y < 0) {
        std::fill_n(target, width, fill);
        continue;
      }
      const std::uint8_t* source = mask.row(source_y);
      for (int x = 0; x < width; ++x) {
        const int source_x = columns[static_cast<std::size_t>(x)];
        target[x] = source_x < 0 ? fill : source[source_x];
      }
    }
    return out;
  }
};

}  // namespace

void map_targets(Sample& sample, double sx, double tx, double sy, double ty, int width, int height,
                 double min_size) {
  sample.geometry = sample.geometry.then(sx, tx, sy, ty);
  if (!sample.mask.empty()) {
    sample.mask = PixelGrid(sample.mask, sx, tx, sy, ty, width, height).resample(sample.mask, sample.mask_fill);
  }
  if (sample.objects.empty()) return;
  const double w = width, h = height;
  std::vector<SampleObject> kept;
  kept.reserve(sample.objects.size());
  std::optional<PixelGrid> grid;  // instance masks have their image's size: one grid serves them all
  for (SampleObject& object : sample.objects) {
    auto& b = object.box;
    const double x1 = sx * b[0] + tx, x2 = sx * b[2] + tx, y1 = sy * b[1] + ty, y2 = sy * b[3] + ty;
    b = {std::clamp(std::min(x1, x2), 0.0, w), std::clamp(std::min(y1, y2), 0.0, h),
         std::clamp(std::max(x1, x2), 0.0, w), std::clamp(std::max(y1, y2), 0.0, h)};
    const double bw = b[2] - b[0], bh = b[3] - b[1];
    if (bw <= 0.0 || bh <= 0.0 || bw < min_size || bh < min_size) continue;
    if (!object.mask.empty()) {
      if (!grid || !grid->reads(object.mask)) grid.emplace(object.mask, sx, tx, sy, ty, width, height);
      object.mask = grid->resample(object.mask, 0);
    }
    kept.push_back(std::move(object));
  }
  sample.objects = std::move(kept);
}

void map_targets(Sample& sample, const ResizePlan& plan, int source_width, int source_height) {
  const double sx = static_cast<double>(plan.width) / plan.roi.width;
  const double sy = static_cast<double>(plan.height) / plan.roi.height;
  // A plan that keeps the whole image only rescales: nothing is cut, so nothing but empty boxes is dropped.
  const bool crops = plan.roi.x != 0 || plan.roi.y != 0 || plan.window.x != 0 || plan.window.y != 0 ||
                     plan.roi.width != source_width || plan.roi.height != source_height ||
                     plan.window.width != plan.width || plan.window.height != plan.height;
  map_targets(sample, sx, -plan.roi.x * sx - plan.window.x, sy, -plan.roi.y * sy - plan.window.y,
              plan.window.width, plan.window.height, crops ? 1.0 : 0.0);
}

void mirror_targets(Sample& sample, int width) {
  map_targets(sample, -1.0, width, 1.0, 0.0, width, sample.image.height, 0.0);
}

}  // namespace autotimm
