#pragma once
// FCOS's two pieces of box logic (Tian et al., "FCOS: Fully Convolutional One-Stage Object Detection"): which feature
// map location learns which object (target assignment), and how the head's outputs become detections (decoding,
// score threshold, top-k per level, class-aware NMS). The head and the loss are plugins; these belong to the task.
//
// A location is the centre of a cell of a pyramid level: (j · s + s / 2, i · s + s / 2) for stride s. Locations are
// ordered level by level, row-major within a level.
#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"

namespace autotimm::fcos {

struct Level {
  std::int64_t height = 0;  ///< of the feature map
  std::int64_t width = 0;
  double stride = 8;
  /// An object is learned on this level when its largest location-to-side distance is within (low, high].
  std::pair<double, double> regress_range = {-1.0, 64.0};
};

/// The levels of maps of `sizes` ((height, width) each) with `strides` and regress ranges: FCOS's defaults
/// (-1, 64], (64, 128], (128, 256], (256, 512], (512, inf) when `regress_ranges` is empty, else one per level.
AUTOTIMM_API std::vector<Level> make_levels(const std::vector<std::pair<std::int64_t, std::int64_t>>& sizes,
                                            const std::vector<double>& strides,
                                            std::vector<std::pair<double, double>> regress_ranges = {});

/// Every level's locations, concatenated: [N, 2] float32 (x, y).
AUTOTIMM_API at::Tensor locations(const std::vector<Level>& levels);

struct Targets {
  at::Tensor labels;      ///< [N] int64: class index of a positive location, -1 background, -2 ignored (in a crowd)
  at::Tensor box_ltrb;    ///< [N, 4] float32: distances to the assigned box's sides (0 where not positive)
  at::Tensor centerness;  ///< [N] float32: sqrt(min(l,r)/max(l,r) · min(t,b)/max(t,b)) (0 where not positive)
};

struct AssignOptions {
  /// Centre sampling: a location is positive only within radius · stride of the box centre (clipped to the box);
  /// 0 takes the whole box.
  double center_sampling_radius = 1.5;
};

/// The targets of one image with ground-truth `boxes` [M, 4] (x1, y1, x2, y2, input pixels), `labels` [M] and
/// `iscrowd` [M] bool (may be undefined: none). A location inside several candidate boxes learns the smallest one.
/// Crowd boxes are never targets; locations inside one that learn nothing are ignored rather than background.
AUTOTIMM_API Targets assign(const std::vector<Level>& levels, const at::Tensor& points, const at::Tensor& boxes,
                            const at::Tensor& labels, const at::Tensor& iscrowd, const AssignOptions& options = {});

struct DecodeOptions {
  double score_thresh = 0.05;           ///< scores at or below it are not candidates
  double nms_thresh = 0.6;              ///< IoU above which a lower-scored box of the same class is dropped
  std::int64_t pre_nms_top_k = 1000;    ///< best candidates kept per level before NMS
  std::int64_t max_detections = 100;    ///< per image, after NMS
};

struct Detections {
  at::Tensor boxes;   ///< [K, 4] float32 x1, y1, x2, y2 (input pixels, clipped to the image)
  at::Tensor scores;  ///< [K] float32, best first: sqrt(class probability · centerness)
  at::Tensor labels;  ///< [K] int64
};

/// Detections of every image of the head's per-level outputs [cls_0, box_0, ctr_0, cls_1, ...] (cls [B, C, H, W]
/// logits, box [B, 4, H, W] distances in pixels, ctr [B, 1, H, W] logits) for input images of `image_height` ×
/// `image_width`.
AUTOTIMM_API std::vector<Detections> decode(const std::vector<at::Tensor>& head_outputs,
                                            const std::vector<Level>& levels, std::int64_t image_height,
                                            std::int64_t image_width, const DecodeOptions& options = {});

}  // namespace autotimm::fcos
