#pragma once
// Test-time augmentation: each batch is also run mirrored left to right, and the two predictions are merged in the
// original image's frame. A little more accuracy for twice the compute, with no retraining.
//
//   auto probabilities = autotimm::classify_with_tta(classifier, images, autotimm::TtaMode::flip);   // [N, C]
//   auto maps = autotimm::segment_with_tta(segmentor, images, autotimm::TtaMode::flip);            // [N, C, H, W]
//   auto found = autotimm::detect_with_tta(detector, images, autotimm::TtaMode::flip);             // per image
//
// Merging: a classifier averages the probabilities (softmax, or sigmoid when multi-label) of the image and of its
// mirror; a segmentor averages the per-pixel class probabilities after flipping the mirror's map back; a detector
// takes the mirror's boxes back (x ↦ W - x) and merges them with the image's by per-class non-maximum suppression at
// the detector's own nms_thresh, then keeps the best max_detections_per_image (NMS, not weighted box fusion: the
// boxes and scores stay ones the model produced). An instance segmentor is refused (its masks are not merged).
#include <cstdint>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"

namespace autotimm {

class ImageClassifier;
class ObjectDetector;
class SemanticSegmentor;
struct DetectionResult;

enum class TtaMode { none, flip };

/// "none" or "flip"; ConfigError naming the supported modes otherwise.
AUTOTIMM_API TtaMode parse_tta_mode(std::string_view name);
AUTOTIMM_API std::string_view tta_mode_name(TtaMode mode);

/// Images [N, 3, H, W] mirrored left to right (the last dimension reversed).
AUTOTIMM_API at::Tensor flip_horizontal(const at::Tensor& images);

/// Class probabilities [N, C] of images [N, 3, H, W] (normalised model input), eval mode without gradients (the
/// mode is restored): the model's own predict for TtaMode::none, the mean with the mirror's for flip.
AUTOTIMM_API at::Tensor classify_with_tta(ImageClassifier& model, const at::Tensor& images, TtaMode mode);

/// Class probabilities [N, C, H, W] (softmax over the classes) at the input's resolution, eval mode without
/// gradients; flip: the mean with the mirror's map flipped back.
AUTOTIMM_API at::Tensor segment_with_tta(SemanticSegmentor& model, const at::Tensor& images, TtaMode mode);

/// Detections per image in input pixels (as ObjectDetector::predict), best first; flip: merged with the mirror's
/// as said above. ConfigError for an InstanceSegmentor with flip.
AUTOTIMM_API std::vector<DetectionResult> detect_with_tta(ObjectDetector& model, const at::Tensor& images,
                                                          TtaMode mode);

/// Two detection sets of one image (boxes [K, 4] x1, y1, x2, y2) merged: concatenated, then per-class NMS at
/// `iou_threshold`, best first, at most `max_detections` kept.
AUTOTIMM_API DetectionResult merge_detections(const DetectionResult& a, const DetectionResult& b,
                                              double iou_threshold, std::int64_t max_detections);

}  // namespace autotimm
