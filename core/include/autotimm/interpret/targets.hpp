#pragma once
// What an explanation explains, per task: ScoreFunctions that reduce a model's output to one differentiable number
// per image, always for the same target on every row (a class, a region, a box), so that methods that score many
// variants of one image (Integrated Gradients, SmoothGrad) keep explaining the same thing.
//
//   model.eval();
//   auto score = autotimm::interpret::classifier_target(model, 3);                // class 3's logit
//   auto box_score = autotimm::interpret::detection_target(detector, image, {10, 12, 40, 50}, 2);
//
// Builders put the model in eval mode: BatchNorm and dropout must not change between the forwards of one explanation.
#include <array>
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"
#include "autotimm/interpret/score_function.hpp"

namespace autotimm {
class ImageClassifier;
class ObjectDetector;
class SemanticSegmentor;
}  // namespace autotimm

namespace autotimm::interpret {

enum class ClassScore { logit, probability };

/// Class `class_index`'s logit (or its probability: softmax, or sigmoid for a multi-label model) for every image.
/// ConfigError for a class outside 0 … num_classes - 1.
AUTOTIMM_API ScoreFunction classifier_target(ImageClassifier& model, std::int64_t class_index,
                                             ClassScore kind = ClassScore::logit);

/// The argmax class of each image [N] (int64), without gradients.
AUTOTIMM_API at::Tensor predicted_classes(ImageClassifier& model, const at::Tensor& images);

/// Class `class_index`'s logits summed over `region` ([H, W] bool at the input's resolution: usually the pixels
/// predicted as that class, see predicted_label_map). ConfigError for a bad class or an empty region.
AUTOTIMM_API ScoreFunction segmentation_target(SemanticSegmentor& model, std::int64_t class_index,
                                               const at::Tensor& region);

/// The predicted label map [H, W] (int64) of one image [1, 3, H, W], without gradients.
AUTOTIMM_API at::Tensor predicted_label_map(SemanticSegmentor& model, const at::Tensor& image);

struct DetectionTargetOptions {
  /// A location speaks for the box when its own decoded box overlaps it at least this much.
  double iou_threshold = 0.5;
};

/// One detected box of image `image` [1, 3, H, W]: `box` (x1, y1, x2, y2 in input pixels) of class `label`. The score
/// is the sum of the sigmoid class-`label` probabilities at the FCOS locations whose decoded box (from a forward of
/// `image`, fixed from then on) overlaps `box` with IoU >= iou_threshold; when none does, the best-overlapping
/// location alone. Works for an InstanceSegmentor too (its boxes come from the same head).
AUTOTIMM_API ScoreFunction detection_target(ObjectDetector& model, const at::Tensor& image,
                                            const std::array<double, 4>& box, std::int64_t label,
                                            const DetectionTargetOptions& options = {});

}  // namespace autotimm::interpret
