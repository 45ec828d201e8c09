#pragma once
// The two ends of a Mask R-CNN mask head: mask_targets crops each object's full-image mask to its box and resizes it to
// the head's M × M grid (the training target, Detectron2's rule); paste_masks puts predicted M × M masks back into the
// image inside their boxes (inference).
//
//   auto targets = autotimm::ops::mask_targets(object_masks, matched_boxes, 28);        // [K, 28, 28] of 0 / 1
//   auto pixels = autotimm::ops::paste_masks(probabilities, boxes, image_h, image_w);  // [K, H, W] bool
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"

namespace autotimm::ops {

/// `masks` [K, Mh, Mw] (or [K, 1, Mh, Mw]) probabilities laid over `boxes` [K, 4] (x1, y1, x2, y2, image pixels): the
/// mask's Mh × Mw cells tile the box exactly. Returns bool [K, height, width]: pixel (x, y) is true when its centre
/// (x + 0.5, y + 0.5) lies in the box, x1 <= x + 0.5 < x2 and y1 <= y + 0.5 < y2, and the mask sampled bilinearly at
/// that point is >= `threshold`. Sampling is grid_sample's (align_corners = false, zero padding): cell centres sit at
/// the centres of the box's tiles and values fade towards 0 in the outer half cell, so with coarse cells the corners
/// of even a constant-1 mask round off, as in Detectron2 and mmdetection.
/// Only each box's own pixels are computed (boxes past the image are clipped; empty, flipped or non-finite boxes give
/// empty masks). CPU: a loop per box, in parallel over boxes; other devices: paste_masks_reference.
/// ConfigError for shapes, a negative image size or a non-finite threshold.
AUTOTIMM_API at::Tensor paste_masks(const at::Tensor& masks, const at::Tensor& boxes, std::int64_t height,
                                    std::int64_t width, double threshold = 0.5);

/// The same result built from ATen ops, one grid_sample per box over the box's pixels (any device; computed in double
/// for double masks, else in float). paste_masks runs it for non-CPU masks; tests hold it equal to the CPU loop.
AUTOTIMM_API at::Tensor paste_masks_reference(const at::Tensor& masks, const at::Tensor& boxes, std::int64_t height,
                                              std::int64_t width, double threshold = 0.5);

/// Training targets of a mask head: object `masks` [K, H, W] (bool, uint8 or floating 0 – 1, one full-image mask per
/// box) cropped to `boxes` [K, 4] and resized to size × size by roi_align (aligned, adaptive sampling, scale 1), then
/// thresholded at >= 0.5: float [K, size, size] of 0 and 1, on the masks' device. Masks are converted to floating
/// point a bounded chunk at a time, each pooled only by its own box. ConfigError for shapes or a size below 1.
AUTOTIMM_API at::Tensor mask_targets(const at::Tensor& masks, const at::Tensor& boxes, std::int64_t size);

}  // namespace autotimm::ops
