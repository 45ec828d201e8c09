#pragma once
// Box operations shared by the detection task, its head and loss plugins and the tools: format conversion, areas,
// IoU and generalized IoU (pairwise and matched), clipping, and non-maximum suppression, class-aware in one pass.
// Boxes are [N, 4] floating tensors; "xyxy" is (x1, y1, x2, y2) in pixels with x2 >= x1 and y2 >= y1.
//
//   auto keep = autotimm::ops::batched_nms(boxes, scores, labels, 0.6);   // indices, best score first
//   auto iou = autotimm::ops::box_iou(predicted, targets);                // [N, M]
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"

namespace autotimm::ops {

enum class BoxFormat {
  xyxy,    ///< corners (x1, y1, x2, y2)
  xywh,    ///< top-left corner, width, height (COCO's bbox)
  cxcywh,  ///< centre, width, height (YOLO's, normalised or not)
};

/// `boxes` [N, 4] from one format to another; the same tensor when the formats agree.
AUTOTIMM_API at::Tensor box_convert(const at::Tensor& boxes, BoxFormat from, BoxFormat to);

/// (x2 - x1) · (y2 - y1) of xyxy boxes: [N].
AUTOTIMM_API at::Tensor box_area(const at::Tensor& boxes);

/// Intersection over union of every pair of xyxy boxes: [N, M]; 0 where both areas are 0.
AUTOTIMM_API at::Tensor box_iou(const at::Tensor& a, const at::Tensor& b);

/// Generalized IoU of every pair: IoU − (enclosing area − union) / enclosing area, in [−1, 1]: [N, M].
AUTOTIMM_API at::Tensor generalized_box_iou(const at::Tensor& a, const at::Tensor& b);

/// Generalized IoU of matched pairs, a[i] with b[i] (a GIoU loss is 1 − this): [N]. Differentiable.
AUTOTIMM_API at::Tensor matched_generalized_box_iou(const at::Tensor& a, const at::Tensor& b);

/// xyxy boxes clipped to an image of `height` × `width` pixels.
AUTOTIMM_API at::Tensor clip_boxes(const at::Tensor& boxes, double height, double width);

/// Indices of the boxes whose width and height are both at least `min_size`.
AUTOTIMM_API at::Tensor remove_small_boxes(const at::Tensor& boxes, double min_size);

/// Greedy non-maximum suppression: the indices of the boxes kept, highest score first; a box is dropped when its IoU
/// with a kept, higher-scoring box is above `iou_threshold`. Equal scores keep their input order.
AUTOTIMM_API at::Tensor nms(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold);

/// Non-maximum suppression within each class at once: boxes of different `classes` ([N] integers) never suppress
/// each other. The boxes are ranked once and split by class in one pass; only boxes of one class are compared.
/// Indices come back highest score first over all classes.
AUTOTIMM_API at::Tensor batched_nms(const at::Tensor& boxes, const at::Tensor& scores, const at::Tensor& classes,
                                    double iou_threshold);

}  // namespace autotimm::ops
