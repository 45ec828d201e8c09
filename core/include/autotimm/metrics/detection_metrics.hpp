#pragma once
// COCO-style detection evaluation, computed in-process and streaming over images: the numbers the trainer logs as
// `val/map`, `val/map_50`, … Facts follow pycocotools' COCOeval with iouType "bbox" and its default parameters
// (cocoeval.py evaluate / evaluateImg / accumulate / summarize, maskApi.c bbIou); the code is ours. Plain C++: host
// vectors in, numbers out, no torch.
//
//   autotimm::CocoEvaluator evaluator;
//   for (...) evaluator.add(image_id, ground_truths, detections);   // once per image, boxes x1, y1, x2, y2 in pixels
//   auto summary = evaluator.summary();                              // summary.map, summary.map_50, summary.per_class_ap
//
// Conventions (all pycocotools'):
// - Parameters: IoU thresholds numpy.linspace(.5, .95, 10) (the exact doubles), recall thresholds
//   numpy.linspace(0, 1, 101), max detections per image {1, 10, 100}, area ranges all [0, 1e10], small [0, 32²],
//   medium [32², 96²], large [96², 1e10] (bounds inclusive), categories evaluated separately (useCats = 1).
// - Boxes become COCO's x, y, w, h (w = x2 - x1): IoU without a +1, intersection edges min(x + w) - max(x); against a
//   crowd ground truth IoU = intersection / detection area. A detection's area is w·h; a ground truth's area is the
//   annotation's `area` (COCO's segment area; pass the box area when there is no segment).
// - Per image and category: detections sorted by score, descending and stable (ties keep input order), cut to 100.
//   Ground truths that are crowd or whose area is outside the range are ignored. Greedy matching per IoU threshold t
//   in score order: each detection takes the ground truth of highest IoU >= min(t, 1 - 1e-10), never a non-crowd one
//   already taken, and stops at the first ignored one once it holds a regular match; a crowd ground truth absorbs any
//   number of detections. Detections matched to an ignored ground truth, and unmatched ones whose area is outside the
//   range, are ignored (neither true nor false positives).
// - Per category, area range and max detections: every image's first max-detections detections, sorted by score with
//   a stable sort (images in ascending id order), cumulative TP / FP, recall = TP / non-ignored ground truths,
//   precision = TP / (TP + FP + 2^-52) made non-increasing from the end, read at each recall threshold r as the
//   precision at the first recall >= r (0 past the last). AR is the last recall (0 without detections).
// - A category without non-ignored ground truths in a setting is -1 there and left out of the means; a mean with
//   nothing left is -1. Means are numpy's (pairwise summation in blocks of 8192) over the same values in the same
//   order as COCOeval.summarize, so the numbers are pycocotools' to the last bit, not just to rounding.
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/export.hpp"

namespace autotimm {

/// One annotated object of an image.
struct DetectionGroundTruth {
  std::int64_t category = 0;
  /// x1, y1, x2, y2 in pixels (x1 <= x2, y1 <= y2).
  std::array<double, 4> box = {};
  /// The annotation's area (pixels²), used for the small / medium / large ranges. For generated data: the box area.
  double area = 0.0;
  /// COCO's `iscrowd`: never counted as missed, absorbs the detections that land on it.
  bool iscrowd = false;
};

/// One predicted object of an image.
struct Detection {
  std::int64_t category = 0;
  /// x1, y1, x2, y2 in pixels (x1 <= x2, y1 <= y2).
  std::array<double, 4> box = {};
  double score = 0.0;
};

/// The seam between IoU and matching: one image and category reduced to what matching needs, whatever the IoU
/// kind (boxes now; masks on RLE can fill it the same way). CocoEvaluator::add builds it from boxes.
struct CocoImageCategory {
  std::int64_t category = 0;
  /// Per ground truth, G entries: its area and crowd flag (0 / 1).
  std::vector<double> gt_area = {};
  std::vector<std::uint8_t> gt_crowd = {};
  /// Per detection, D <= 100 entries, already sorted by score descending (stable) and cut to the first 100.
  std::vector<double> detection_score = {};
  std::vector<double> detection_area = {};
  /// D × G, row-major (detection-major); crowd columns hold intersection / detection area.
  std::vector<double> iou = {};
};

/// COCO's box IoU (maskApi bbIou) between detection and ground-truth boxes given as x1, y1, x2, y2: a D × G
/// row-major matrix. Boxes are read as x, y, w = x2 - x1, h = y2 - y1, as COCO stores them; a crowd column
/// (gt_crowd[g] != 0) divides the intersection by the detection's area instead of the union.
AUTOTIMM_API std::vector<double> coco_box_iou(const std::vector<std::array<double, 4>>& detection_boxes,
                                              const std::vector<std::array<double, 4>>& gt_boxes,
                                              const std::vector<std::uint8_t>& gt_crowd);

/// The names the trainer logs (prefixed `val/`, `test/`), in COCOeval's `stats` order: map, map_50, map_75,
/// map_small, map_medium, map_large, mar_1, mar_10, mar_100, mar_small, mar_medium, mar_large.
AUTOTIMM_API const std::array<std::string_view, 12>& coco_metric_names();

/// The 12 numbers COCOeval.summarize prints, plus per-class AP; -1 where undefined (no ground truth to find).
struct AUTOTIMM_API CocoSummary {
  double map = -1.0;         ///< AP @ IoU .50:.95, all areas, 100 detections
  double map_50 = -1.0;      ///< AP @ IoU .50
  double map_75 = -1.0;      ///< AP @ IoU .75
  double map_small = -1.0;   ///< AP, area <= 32²
  double map_medium = -1.0;  ///< AP, 32² <= area <= 96²
  double map_large = -1.0;   ///< AP, area >= 96²
  double mar_1 = -1.0;       ///< AR @ IoU .50:.95, all areas, 1 detection per image
  double mar_10 = -1.0;      ///< AR, 10 detections per image
  double mar_100 = -1.0;     ///< AR, 100 detections per image
  double mar_small = -1.0;   ///< AR, area <= 32², 100 detections
  double mar_medium = -1.0;
  double mar_large = -1.0;
  /// Category → AP @ IoU .50:.95, all areas, 100 detections; -1 for a category with no (non-crowd) ground truth.
  /// Holds every evaluated category: those seen in a ground truth or detection, or options.category_ids.
  std::map<std::int64_t, double> per_class_ap = {};
  std::int64_t num_images = 0;

  /// The 12 numbers in COCOeval's `stats` order (the order of coco_metric_names()).
  std::array<double, 12> stats() const;
  /// The 12 numbers by name (coco_metric_names()).
  std::map<std::string, double> values() const;
};

struct CocoEvaluatorOptions {
  /// The categories evaluated (COCOeval's params.catIds). Empty: every category met in a ground truth or detection.
  /// When set, ground truths and detections of other categories are dropped, as pycocotools drops them, and each
  /// listed category appears in per_class_ap (-1 when it has no ground truth).
  std::vector<std::int64_t> category_ids = {};
};

/// Streaming COCO evaluation: add each image once, read summary() at the end of the epoch, reset for the next.
/// Each image and category is matched once when added (every area range and IoU threshold), and only the match
/// outcomes are kept. For several ranks, gather the images and merge() the evaluators. Not thread-safe.
class AUTOTIMM_API CocoEvaluator {
 public:
  explicit CocoEvaluator(CocoEvaluatorOptions options = {});

  /// One image's ground truths and detections (any order, any number of detections: the 100 best per category are
  /// kept). ConfigError on a non-finite or reversed box, a negative or non-finite area, a non-finite score, or an
  /// image_id already added; nothing is added then.
  void add(std::int64_t image_id, const std::vector<DetectionGroundTruth>& ground_truths,
           const std::vector<Detection>& detections);
  /// The same for objects already reduced to IoU matrices (see CocoImageCategory), one entry per category.
  void add_prepared(std::int64_t image_id, const std::vector<CocoImageCategory>& categories);
  /// Takes in the other evaluator's images; ConfigError when an image is in both or the options differ.
  void merge(const CocoEvaluator& other);
  void reset();

  /// Accumulates and summarizes everything added so far (pycocotools' accumulate + summarize).
  CocoSummary summary() const;
  std::int64_t num_images() const { return static_cast<std::int64_t>(images_.size()); }
  const CocoEvaluatorOptions& options() const { return options_; }

 private:
  /// The outcome of matching one image and category, for all area ranges and thresholds.
  struct Matched {
    std::int64_t category = 0;
    std::vector<double> scores;                // D, descending
    std::array<std::int64_t, 4> num_gt = {};   // non-ignored ground truths per area range
    std::vector<std::uint8_t> outcome;         // [area range][threshold][D]: 0 false positive, 1 true, 2 ignored
  };
  static Matched match(const CocoImageCategory& input);
  void check_new_image(std::int64_t image_id) const;

  CocoEvaluatorOptions options_;
  std::map<std::int64_t, std::vector<Matched>> images_;  // image id → its categories, ascending
};

}  // namespace autotimm
