#pragma once
// COCO metrics of an instance segmentor as an epoch metric: box mAP exactly as CocoMetric computes it, plus mask
// mAP as pycocotools' COCOeval computes it with iouType "segm". The segmentor adds each evaluated image's ground
// truth and detections with their masks (original-image pixels, as COCO RLE), ranks exchange them at the end of the
// epoch, and every rank computes the same numbers.
//
//   autotimm::MaskCocoMetric metric(class_names);
//   metric.update(image_id, ground_truths, gt_masks, detections, detection_masks);   // once per image
//   metric.sync(ranks);                                                               // end of the epoch
//   auto logged = metric.compute("val");   // val/map, ..., val/ap/<class>, val/mask_map, ..., val/mask_ap/<class>
//
// Mask rules (COCOeval "segm"): IoU = coco_mask_iou (a crowd ground truth divides by the detection's mask area); a
// ground truth's area for the small / medium / large ranges is the annotation's `area` (DetectionGroundTruth::area),
// a detection's is its mask's pixel count; per image and category the detections are sorted by score (descending,
// stable) and cut to 100; every class index is evaluated, a class without ground truth gets -1 AP.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/data/rle.hpp"
#include "autotimm/distributed/collective.hpp"
#include "autotimm/export.hpp"
#include "autotimm/metrics/coco_metric.hpp"
#include "autotimm/metrics/detection_metrics.hpp"

namespace autotimm {

class AUTOTIMM_API MaskCocoMetric {
 public:
  /// `class_names[label]` names the per-class AP of boxes and masks; labels outside 0..C-1 are not evaluated.
  explicit MaskCocoMetric(std::vector<std::string> class_names);

  /// One image: ground truths with their masks (gt_masks[i] belongs to ground_truths[i]) and detections with theirs
  /// (detection_masks[i] belongs to detections[i]), all in the original image's pixels, every mask of the image of
  /// the image's size. An image id seen before (a distributed sampler pads the last shard with repeats) is ignored.
  /// ConfigError, adding nothing, when the counts differ, the masks of the image differ in size, a mask's runs do
  /// not cover its height × width, or an area / score is not finite (areas must be >= 0).
  void update(std::int64_t image_id, const std::vector<DetectionGroundTruth>& ground_truths,
              const std::vector<Rle>& gt_masks, const std::vector<Detection>& detections,
              const std::vector<Rle>& detection_masks);
  /// Gathers every rank's images, so compute() gives the same numbers everywhere; an image evaluated on several
  /// ranks is kept from the first of them. Every rank must call it. TrainingError when the rows received are not
  /// well formed (ranks running different builds).
  void sync(Collective& ranks);
  /// "<stage>/map", ..., "<stage>/ap/<class>" (CocoMetric's names and numbers, from the boxes) and
  /// "<stage>/mask_map", "<stage>/mask_map_50", ..., "<stage>/mask_mar_large", "<stage>/mask_ap/<class>" (from the
  /// masks); empty before any image.
  std::map<std::string, double> compute(std::string_view stage) const;
  /// The box numbers (CocoMetric::summary).
  CocoSummary box_summary() const;
  /// The mask numbers (COCOeval with iouType "segm").
  CocoSummary mask_summary() const;
  void reset();
  std::int64_t num_images() const { return static_cast<std::int64_t>(images_.size()); }

 private:
  /// A ground truth (value = its annotation area) or a detection (value = its score) with its mask.
  struct MaskObject {
    std::int64_t category = 0;
    double value = 0.0;
    bool crowd = false;
    Rle mask = {};
  };
  struct MaskImage {
    std::int64_t id = 0;
    std::vector<MaskObject> ground_truths;
    /// Per category only the 100 best (score descending, stable): the rest never reach COCO's matching.
    std::vector<MaskObject> detections;
  };

  std::vector<std::string> class_names_;
  CocoMetric boxes_;
  std::vector<MaskImage> images_;
};

}  // namespace autotimm
