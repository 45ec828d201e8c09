// Task targets: the score a classifier, a semantic segmentor or a detector gives one class, region or box.
#include "autotimm/interpret/targets.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <string>

#include "autotimm/error.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/tasks/object_detector.hpp"
#include "autotimm/tasks/semantic_segmentor.hpp"

namespace autotimm::interpret {
namespace {

void expect_class(const std::string& task, std::int64_t class_index, std::int64_t num_classes) {
  if (class_index < 0 || class_index >= num_classes) {
    throw ConfigError(task + ": class " + std::to_string(class_index) + " is out of range: the model has " +
                      std::to_string(num_classes) + " classes (0 to " + std::to_string(num_classes - 1) + ")");
  }
}

void expect_single_image(const std::string& what, const at::Tensor& image) {
  if (image.dim() != 4 || image.size(0) != 1) {
    throw ConfigError(what + ": expected one image [1, 3, H, W], got " + c10::str(image.sizes()));
  }
}

}  // namespace

ScoreFunction classifier_target(ImageClassifier& model, std::int64_t class_index, ClassScore kind) {
  expect_class("classifier target", class_index, model.num_classes());
  model.eval();
  const bool multi_label = model.options().multi_label;
  return [&model, class_index, kind, multi_label](const at::Tensor& images) {
    const auto logits = model.forward(images);
    if (kind == ClassScore::logit) return logits.select(1, class_index);
    return (multi_label ? logits.sigmoid() : logits.softmax(1)).select(1, class_index);
  };
}

at::Tensor predicted_classes(ImageClassifier& model, const at::Tensor& images) {
  model.eval();
  torch::NoGradGuard no_grad;
  return model.forward(images).argmax(1);
}

ScoreFunction segmentation_target(SemanticSegmentor& model, std::int64_t class_index, const at::Tensor& region) {
  expect_class("segmentation target", class_index, model.num_classes());
  if (region.dim() != 2) {
    throw ConfigError("segmentation target: expected a region [H, W], got " + c10::str(region.sizes()));
  }
  if (!region.any().item<bool>()) {
    throw ConfigError("segmentation target: class " + std::to_string(class_index) +
                      " covers no pixel of the region given; explain a class the model predicts on the image");
  }
  model.eval();
  const auto mask = region.to(torch::kFloat32);
  return [&model, class_index, mask](const at::Tensor& images) {
    const auto logits = model.forward(images).select(1, class_index);  // [N, H, W]
    if (logits.size(1) != mask.size(0) || logits.size(2) != mask.size(1)) {
      throw ConfigError("segmentation target: the region is " + c10::str(mask.sizes()) + ", the logits " +
                        c10::str(logits.sizes()) + "; build the region at the input's resolution");
    }
    return (logits * mask.to(logits.device(), logits.scalar_type())).sum({1, 2});
  };
}

at::Tensor predicted_label_map(SemanticSegmentor& model, const at::Tensor& image) {
  expect_single_image("predicted_label_map", image);
  return model.predict(image)[0];
}

ScoreFunction detection_target(ObjectDetector& model, const at::Tensor& image, const std::array<double, 4>& box,
                               std::int64_t label, const DetectionTargetOptions& options) {
  expect_single_image("detection target", image);
  expect_class("detection target", label, model.num_classes());
  model.eval();
  std::vector<at::Tensor> outputs;
  {
    torch::NoGradGuard no_grad;
    outputs = model.forward(image);
  }
  const auto levels = model.levels_for(outputs);
  const auto height = static_cast<double>(image.size(2)), width = static_cast<double>(image.size(3));
  const double box_area = std::max(0.0, box[2] - box[0]) * std::max(0.0, box[3] - box[1]);
  // Each level's IoU of its locations' decoded boxes (as fcos::decode builds them, clipped) with the explained box.
  std::vector<at::Tensor> overlaps;
  for (std::size_t l = 0; l < levels.size(); ++l) {
    const auto& level = levels[l];
    const auto ltrb = outputs[3 * l + 1][0].flatten(1).t().to(torch::kCPU, torch::kFloat64);  // [hw, 4]
    const auto s = level.stride;
    const auto index = torch::arange(level.height * level.width, torch::kInt64);
    const auto xs = index.remainder(level.width).to(torch::kFloat64) * s + s / 2;
    const auto ys = torch::div(index, level.width, "floor").to(torch::kFloat64) * s + s / 2;
    const auto x1 = (xs - ltrb.select(1, 0)).clamp(0.0, width), y1 = (ys - ltrb.select(1, 1)).clamp(0.0, height);
    const auto x2 = (xs + ltrb.select(1, 2)).clamp(0.0, width), y2 = (ys + ltrb.select(1, 3)).clamp(0.0, height);
    const auto iw = (torch::minimum(x2, torch::full_like(x2, box[2])) - torch::maximum(x1, torch::full_like(x1, box[0])))
                        .clamp_min(0.0);
    const auto ih = (torch::minimum(y2, torch::full_like(y2, box[3])) - torch::maximum(y1, torch::full_like(y1, box[1])))
                        .clamp_min(0.0);
    const auto inter = iw * ih;
    const auto area = (x2 - x1).clamp_min(0.0) * (y2 - y1).clamp_min(0.0);
    const auto uni = area + box_area - inter;
    overlaps.push_back(torch::where(uni > 0, inter / torch::where(uni > 0, uni, torch::ones_like(uni)),
                                    torch::zeros_like(uni)));
  }
  std::vector<at::Tensor> masks;
  bool any = false;
  for (const auto& iou : overlaps) {
    masks.push_back((iou >= options.iou_threshold).to(torch::kFloat32));
    any = any || masks.back().any().item<bool>();
  }
  if (!any) {  // no location agrees well enough: the one that agrees best
    double best = -1.0;
    std::size_t best_level = 0;
    std::int64_t best_index = 0;
    for (std::size_t l = 0; l < overlaps.size(); ++l) {
      const auto [value, position] = overlaps[l].max(0);
      if (value.item<double>() > best) {
        best = value.item<double>();
        best_level = l;
        best_index = position.item<std::int64_t>();
      }
    }
    masks[best_level][best_index] = 1.0f;
  }
  return [&model, masks, label](const at::Tensor& images) {
    const auto out = model.forward(images);
    at::Tensor total;
    for (std::size_t l = 0; l < masks.size(); ++l) {
      const auto probability = out[3 * l].select(1, label).flatten(1).sigmoid();  // [N, hw]
      const auto term = (probability * masks[l].to(probability.device(), probability.scalar_type())).sum(1);
      total = total.defined() ? total + term : term;
    }
    return total;
  };
}

}  // namespace autotimm::interpret
