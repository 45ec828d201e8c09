#pragma once
// COCO detection metrics as an epoch metric: the detector adds each evaluated image's ground truth and detections
// (original-image pixels), ranks exchange them at the end of the epoch, and every rank computes the same COCO
// numbers. Logged as `<stage>/map`, `<stage>/map_50`, ..., `<stage>/mar_large`, and `<stage>/ap/<class name>`.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/distributed/collective.hpp"
#include "autotimm/export.hpp"
#include "autotimm/metrics/detection_metrics.hpp"

namespace autotimm {

class AUTOTIMM_API CocoMetric {
 public:
  /// `class_names[label]` names the per-class AP; every class is evaluated (-1 AP when it has no ground truth).
  explicit CocoMetric(std::vector<std::string> class_names);

  /// One image; an image id seen again (a distributed sampler pads the last shard with repeats) is ignored.
  void update(std::int64_t image_id, const std::vector<DetectionGroundTruth>& ground_truths,
              const std::vector<Detection>& detections);
  /// Gathers every rank's images, so compute() gives the same numbers everywhere.
  void sync(Collective& ranks);
  /// The 12 COCO numbers and the per-class AP, keyed "<stage>/<name>"; empty before any image.
  std::map<std::string, double> compute(std::string_view stage) const;
  CocoSummary summary() const;
  void reset();
  std::int64_t num_images() const { return static_cast<std::int64_t>(image_ids_.size()); }

 private:
  std::vector<std::string> class_names_;
  // Flat rows, so ranks exchange them as tensors: (image, category, x1, y1, x2, y2, area, crowd) per ground truth,
  // (image, category, x1, y1, x2, y2, score) per detection.
  std::vector<std::int64_t> image_ids_;
  std::vector<double> ground_truth_rows_;
  std::vector<double> detection_rows_;
};

}  // namespace autotimm
