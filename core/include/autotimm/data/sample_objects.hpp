#pragma once
// The objects of a dense-task sample (boxes, and instance masks) and the map from the original image to
// the transformed one. Geometric transforms move the objects with the pixels and record the map, so predictions
// made on the transformed image can be taken back to the original (COCO evaluation, predict). Plain data, no torch.
#include <array>
#include <cstdint>
#include <vector>

#include "autotimm/data/image.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct SampleObject {
  std::array<double, 4> box = {};  ///< x1, y1, x2, y2 in the current image's pixels
  std::int64_t label = 0;          ///< contiguous class index
  bool iscrowd = false;            ///< a crowd region: evaluated as COCO does, never a training target
  double area = 0.0;               ///< the annotation's area in the original image (COCO's area ranges use it)
  /// Instance segmentation: the object's pixels, one channel of 0 / 1 with the current image's size (moved with
  /// the image like the box); empty for a box-only object.
  Image mask = {};
};

/// Per axis, current = scale · original + offset (a flip makes the scale negative).
struct AxisMap {
  double scale_x = 1.0;
  double offset_x = 0.0;
  double scale_y = 1.0;
  double offset_y = 0.0;

  /// This map followed by current' = sx · current + tx (and the same in y).
  AxisMap then(double sx, double tx, double sy, double ty) const noexcept {
    return {sx * scale_x, sx * offset_x + tx, sy * scale_y, sy * offset_y + ty};
  }
  /// A box of the current image in the original one (corners reordered after a flip).
  AUTOTIMM_API std::array<double, 4> to_original(const std::array<double, 4>& box) const noexcept;
};

}  // namespace autotimm
