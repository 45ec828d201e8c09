#include "autotimm/inference/test_time_augmentation.hpp"

#include <torch/torch.h>

#include <string>

#include "autotimm/error.hpp"
#include "autotimm/eval_mode_guard.hpp"
#include "autotimm/ops/boxes.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/tasks/instance_segmentor.hpp"
#include "autotimm/tasks/object_detector.hpp"
#include "autotimm/tasks/semantic_segmentor.hpp"

namespace autotimm {
namespace {

/// Eval mode and no gradients while the views run; the model's previous mode back afterwards.
struct EvalScope {
  explicit EvalScope(torch::nn::Module& model) : eval(model) {}
  EvalModeGuard eval;
  torch::NoGradGuard no_grad;
};

}  // namespace

TtaMode parse_tta_mode(std::string_view name) {
  if (name == "none") return TtaMode::none;
  if (name == "flip") return TtaMode::flip;
  throw ConfigError("unknown test-time augmentation '" + std::string(name) + "'; supported: none, flip");
}

std::string_view tta_mode_name(TtaMode mode) { return mode == TtaMode::flip ? "flip" : "none"; }

at::Tensor flip_horizontal(const at::Tensor& images) { return images.flip({-1}); }

at::Tensor classify_with_tta(ImageClassifier& model, const at::Tensor& images, TtaMode mode) {
  auto probabilities = model.predict(images).probabilities;
  if (mode == TtaMode::flip) probabilities = (probabilities + model.predict(flip_horizontal(images)).probabilities) / 2;
  return probabilities;
}

at::Tensor segment_with_tta(SemanticSegmentor& model, const at::Tensor& images, TtaMode mode) {
  EvalScope scope(model);
  auto probabilities = torch::softmax(model.forward(images), 1);
  if (mode == TtaMode::flip) {
    probabilities = (probabilities + flip_horizontal(torch::softmax(model.forward(flip_horizontal(images)), 1))) / 2;
  }
  return probabilities;
}

DetectionResult merge_detections(const DetectionResult& a, const DetectionResult& b, double iou_threshold,
                                 std::int64_t max_detections) {
  const auto boxes = torch::cat({a.boxes, b.boxes});
  const auto scores = torch::cat({a.scores, b.scores});
  const auto labels = torch::cat({a.labels, b.labels});
  auto keep = ops::batched_nms(boxes, scores, labels, iou_threshold);
  if (keep.size(0) > max_detections) keep = keep.narrow(0, 0, max_detections);
  return {boxes.index_select(0, keep), scores.index_select(0, keep), labels.index_select(0, keep)};
}

std::vector<DetectionResult> detect_with_tta(ObjectDetector& model, const at::Tensor& images, TtaMode mode) {
  if (mode == TtaMode::flip && dynamic_cast<InstanceSegmentor*>(&model) != nullptr) {
    throw ConfigError("test-time augmentation 'flip' is not supported for an InstanceSegmentor (its masks are not "
                      "merged); predict without --tta");
  }
  auto found = model.predict(images);
  if (mode == TtaMode::none) return found;
  const auto mirrored = model.predict(flip_horizontal(images));
  const double width = static_cast<double>(images.size(3));
  for (std::size_t i = 0; i < found.size(); ++i) {
    const auto& m = mirrored[i];
    // x ↦ W - x swaps the corners: x1' = W - x2, x2' = W - x1.
    const auto boxes = torch::stack({width - m.boxes.select(1, 2), m.boxes.select(1, 1), width - m.boxes.select(1, 0),
                                     m.boxes.select(1, 3)},
                                    1);
    found[i] = merge_detections(found[i], {boxes, m.scores, m.labels}, model.options().nms_thresh,
                                model.options().max_detections_per_image);
  }
  return found;
}

}  // namespace autotimm
