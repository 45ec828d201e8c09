// Moving a sample's objects with its pixels: one affine map per axis, then clipping to the new image and dropping
// what the crop left too thin to be an object.
#include <algorithm>

#include "autotimm/data/sample_objects.hpp"
#include "autotimm/data/transform.hpp"

namespace autotimm {

std::array<double, 4> AxisMap::to_original(const std::array<double, 4>& box) const noexcept {
  const double x1 = (box[0] - offset_x) / scale_x, x2 = (box[2] - offset_x) / scale_x;
  const double y1 = (box[1] - offset_y) / scale_y, y2 = (box[3] - offset_y) / scale_y;
  return {std::min(x1, x2), std::min(y1, y2), std::max(x1, x2), std::max(y1, y2)};
}

void map_objects(Sample& sample, double sx, double tx, double sy, double ty, int width, int height,
                 double min_size) {
  sample.geometry = sample.geometry.then(sx, tx, sy, ty);
  if (sample.objects.empty()) return;
  const double w = width, h = height;
  std::vector<SampleObject> kept;
  kept.reserve(sample.objects.size());
  for (SampleObject object : sample.objects) {
    auto& b = object.box;
    const double x1 = sx * b[0] + tx, x2 = sx * b[2] + tx, y1 = sy * b[1] + ty, y2 = sy * b[3] + ty;
    b = {std::clamp(std::min(x1, x2), 0.0, w), std::clamp(std::min(y1, y2), 0.0, h),
         std::clamp(std::max(x1, x2), 0.0, w), std::clamp(std::max(y1, y2), 0.0, h)};
    const double bw = b[2] - b[0], bh = b[3] - b[1];
    if (bw <= 0.0 || bh <= 0.0 || bw < min_size || bh < min_size) continue;
    kept.push_back(object);
  }
  sample.objects = std::move(kept);
}

void map_objects(Sample& sample, const ResizePlan& plan, int source_width, int source_height) {
  const double sx = static_cast<double>(plan.width) / plan.roi.width;
  const double sy = static_cast<double>(plan.height) / plan.roi.height;
  // A plan that keeps the whole image only rescales: nothing is cut, so nothing but empty boxes is dropped.
  const bool crops = plan.roi.x != 0 || plan.roi.y != 0 || plan.window.x != 0 || plan.window.y != 0 ||
                     plan.roi.width != source_width || plan.roi.height != source_height ||
                     plan.window.width != plan.width || plan.window.height != plan.height;
  map_objects(sample, sx, -plan.roi.x * sx - plan.window.x, sy, -plan.roi.y * sy - plan.window.y,
              plan.window.width, plan.window.height, crops ? 1.0 : 0.0);
}

void mirror_objects(Sample& sample, int width) {
  map_objects(sample, -1.0, width, 1.0, 0.0, width, sample.image.height, 0.0);
}

}  // namespace autotimm
