// Semantic segmentation metrics: a [C, C] confusion matrix over counted pixels is the whole state, so streaming and
// summing across ranks are additions, and every value is derived at compute time.
#include "autotimm/metrics/segmentation_metrics.hpp"

#include <torch/torch.h>

#include <array>

#include "autotimm/error.hpp"
#include "metrics_common.hpp"

namespace autotimm {

using metrics_detail::shape_string;
using metrics_detail::where;

namespace {

constexpr std::string_view kName = "segmentation metrics";

using Position = std::array<std::int64_t, 3>;  // [b, y, x]

Position first_position(const torch::Tensor& mask) {
  const auto first = mask.nonzero()[0].cpu();
  return {first[0].item<std::int64_t>(), first[1].item<std::int64_t>(), first[2].item<std::int64_t>()};
}

std::int64_t value_at(const torch::Tensor& map, const Position& at) {
  return map[at[0]][at[1]][at[2]].item<std::int64_t>();
}

std::string position_string(const Position& at) {
  return "[" + std::to_string(at[0]) + ", " + std::to_string(at[1]) + ", " + std::to_string(at[2]) + "]";
}

double mean(const std::vector<double>& values) {
  if (values.empty()) return 0.0;
  double sum = 0.0;
  for (const double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

}  // namespace

SegmentationMetrics::SegmentationMetrics(std::vector<std::string> class_names, std::int64_t ignore_index)
    : class_names_(std::move(class_names)), ignore_index_(ignore_index) {
  const auto c = static_cast<std::int64_t>(class_names_.size());
  if (c == 0) {
    throw ConfigError("segmentation metrics: 'class_names': expected at least one class, got none");
  }
  for (std::size_t i = 0; i < class_names_.size(); ++i) {
    for (std::size_t j = i + 1; j < class_names_.size(); ++j) {
      if (class_names_[i] != class_names_[j]) continue;
      throw ConfigError("segmentation metrics: 'class_names': '" + class_names_[i] + "' names classes " +
                        std::to_string(i) + " and " + std::to_string(j) +
                        ": expected unique names, each keys its own iou/<name> value");
    }
  }
  if (ignore_index_ >= 0 && ignore_index_ < c) {
    throw ConfigError("segmentation metrics: 'ignore_index': " + std::to_string(ignore_index_) + " is also class '" +
                      class_names_[static_cast<std::size_t>(ignore_index_)] + "' (classes are [0, " +
                      std::to_string(c) + ")): expected a value outside the classes (255 by default); to leave a "
                      "class out of the metrics, relabel its pixels to ignore_index");
  }
  reset();
}

void SegmentationMetrics::reset() {
  const auto c = static_cast<std::int64_t>(class_names_.size());
  confusion_ = torch::zeros({c, c}, torch::kInt64);
  updates_ = 0;
}

void SegmentationMetrics::update(const torch::Tensor& predictions, const torch::Tensor& targets) {
  ++updates_;
  const auto c = static_cast<std::int64_t>(class_names_.size());
  if (!predictions.defined() || !targets.defined()) {
    throw ConfigError(where(kName, updates_) + ": predictions and targets must both be defined tensors");
  }
  if (predictions.dim() != 3 || predictions.sizes() != targets.sizes()) {
    throw ConfigError(where(kName, updates_) + ": predictions has shape " + shape_string(predictions) +
                      " and targets " + shape_string(targets) +
                      ": expected class maps [B, H, W] of the same shape; take argmax(1) of [B, C, H, W] logits");
  }
  for (const auto& [what, tensor] : {std::pair{"predictions", &predictions}, std::pair{"targets", &targets}}) {
    if (!c10::isIntegralType(tensor->scalar_type(), /*includeBool=*/false)) {
      throw ConfigError(where(kName, updates_) + ": " + what + " has dtype " +
                        std::string(c10::toString(tensor->scalar_type())) + ": expected integer class indices");
    }
  }
  if (predictions.device() != targets.device()) {
    throw ConfigError(where(kName, updates_) + ": predictions are on " + predictions.device().str() +
                      " and targets on " + targets.device().str() + ": expected both on the same device");
  }

  torch::NoGradGuard no_grad;
  const auto target = targets.to(torch::kInt64);
  const auto predicted = predictions.to(torch::kInt64);
  const auto counted = target != ignore_index_;
  const auto bad_target = counted & ((target < 0) | (target >= c));
  const auto bad_prediction = (predicted < 0) | (predicted >= c);
  // One host round trip on the common path; the offender is looked up only when there is one.
  if ((bad_target | bad_prediction).any().item<bool>()) {
    if (bad_target.any().item<bool>()) {
      const auto at = first_position(bad_target);
      throw ConfigError(where(kName, updates_) + ": target " + std::to_string(value_at(target, at)) + " at " +
                        position_string(at) + " is out of range: expected a class in [0, " + std::to_string(c) +
                        ") or ignore_index " + std::to_string(ignore_index_) + "; check the labels and class_names");
    }
    const auto at = first_position(bad_prediction);
    throw ConfigError(where(kName, updates_) + ": prediction " + std::to_string(value_at(predicted, at)) + " at " +
                      position_string(at) + " is out of range: expected a class in [0, " + std::to_string(c) +
                      "), every pixel's, ignored ones too");
  }
  // Ignored pixels land in one extra bin that is dropped, so counting needs no boolean indexing (a device sync).
  const auto bins = torch::where(counted, target * c + predicted, torch::full_like(target, c * c));
  const auto counts = torch::bincount(bins.flatten(), {}, c * c + 1).slice(0, 0, c * c);
  confusion_ += counts.view({c, c}).to(torch::kCPU, torch::kInt64);
}

void SegmentationMetrics::sync(Collective& ranks) {
  std::vector<torch::Tensor> state{confusion_};
  ranks.all_reduce_sum(state);
  confusion_ = state[0];  // whether the collective reduced in place or handed back a new tensor
}

std::map<std::string, double> SegmentationMetrics::compute(std::string_view stage) const {
  std::map<std::string, double> out;
  const auto matrix = confusion_.contiguous();
  const auto cm = matrix.accessor<std::int64_t, 2>();
  const auto c = matrix.size(0);
  std::int64_t counted = 0, correct = 0;
  std::vector<double> ious, dices, recalls;
  const std::string prefix = std::string(stage) + "/";
  for (std::int64_t k = 0; k < c; ++k) {
    std::int64_t row = 0, column = 0;  // pixels of target k, pixels predicted k
    for (std::int64_t j = 0; j < c; ++j) {
      row += cm[k][j];
      column += cm[j][k];
    }
    const auto tp = static_cast<double>(cm[k][k]);
    const auto union_ = static_cast<double>(row + column - cm[k][k]);  // TP + FP + FN
    counted += row;
    correct += cm[k][k];
    double iou = -1.0;  // appears nowhere: a value no real IoU takes, so it cannot pass for a score
    if (union_ > 0) {
      iou = tp / union_;
      ious.push_back(iou);
      dices.push_back(2 * tp / (union_ + tp));  // 2TP + FP + FN = union + TP
    }
    if (row > 0) recalls.push_back(tp / static_cast<double>(row));
    out[prefix + "iou/" + class_names_[static_cast<std::size_t>(k)]] = iou;
  }
  if (counted == 0) return {};
  out[prefix + "mIoU"] = mean(ious);
  out[prefix + "mean_dice"] = mean(dices);
  out[prefix + "mean_accuracy"] = mean(recalls);
  out[prefix + "pixel_accuracy"] = static_cast<double>(correct) / static_cast<double>(counted);
  return out;
}

}  // namespace autotimm
