#pragma once
// Semantic segmentation metrics as an epoch metric: the segmentor adds each batch's predicted and target class maps,
// ranks sum their confusion matrices at the end of the epoch, and every rank computes the same numbers. Logged as
// `<stage>/mIoU`, `<stage>/iou/<class name>`, `<stage>/pixel_accuracy`, `<stage>/mean_accuracy`, `<stage>/mean_dice`.
//
//   autotimm::SegmentationMetrics metrics({"background", "road", "car"});   // ignore_index 255
//   metrics.update(logits.argmax(1), labels);   // [B, H, W] int64 each, on any device
//   metrics.sync(ranks);
//   logger.log_metrics(metrics.compute("val"), step);   // {"val/mIoU": …, "val/iou/road": …, …}
//
// Per class c, from the confusion matrix over counted pixels: TP = predicted c where the target is c, FP = predicted c
// elsewhere, FN = target c predicted as something else.
// - iou/<name> = TP / (TP + FP + FN); -1 for a class that appears in no target and no prediction (TP+FP+FN = 0).
// - mIoU = mean IoU over the classes with TP+FP+FN > 0: a class absent from the whole epoch, in targets and
//   predictions alike, is left out of the mean instead of counting as 0 or 1, as torchmetrics' JaccardIndex does.
// - mean_dice = mean of 2TP / (2TP + FP + FN) over the same classes as mIoU.
// - pixel_accuracy = correctly predicted pixels / counted pixels.
// - mean_accuracy = mean per-class recall TP / (TP + FN) over the classes present in targets.
// A pixel whose target is ignore_index is not counted, whatever was predicted there.
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/distributed/collective.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

class AUTOTIMM_API SegmentationMetrics {
 public:
  /// `class_names[c]` names class c in `iou/<name>`. ConfigError for no classes, a repeated name, or an ignore_index
  /// that is also a class index (it would mark both "not counted" and "class c").
  explicit SegmentationMetrics(std::vector<std::string> class_names, std::int64_t ignore_index = 255);

  /// One batch: predicted and target class indices, integer tensors of the same shape [B, H, W] on the same device.
  /// Counts on that device and keeps only the [C, C] matrix on the CPU. ConfigError (the batch is not counted) for
  /// a prediction outside [0, C) anywhere, or a target outside [0, C) other than ignore_index.
  void update(const torch::Tensor& predictions, const torch::Tensor& targets);
  /// Sums every rank's confusion matrix, so compute() gives the same numbers everywhere.
  void sync(Collective& ranks);
  /// The values above keyed "<stage>/<name>"; empty while no pixel has been counted.
  std::map<std::string, double> compute(std::string_view stage) const;
  /// A copy, int64 [C, C] on the CPU: rows are target classes, columns predicted classes.
  torch::Tensor confusion_matrix() const { return confusion_.clone(); }
  void reset();

  const std::vector<std::string>& class_names() const { return class_names_; }
  std::int64_t ignore_index() const { return ignore_index_; }

 private:
  std::vector<std::string> class_names_;
  std::int64_t ignore_index_;
  torch::Tensor confusion_;  // int64 [C, C], CPU
  std::int64_t updates_ = 0;  // numbers the update in error messages
};

}  // namespace autotimm
