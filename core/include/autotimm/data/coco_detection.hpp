#pragma once
// Reading COCO instance annotations (the `instances_*.json` of COCO and of most detection datasets) into records the
// detection data module loads: boxes as x1, y1, x2, y2 pixels, COCO category ids mapped to contiguous labels (names
// kept), crowd regions kept for evaluation and marked so training can leave them out. Plain C++, no torch.
//
//   auto data = autotimm::read_coco_detection("shapes/annotations/instances_train.json", "shapes/images/train");
//   data.class_names;                        // {"rectangle", "ellipse", "triangle"}: label i is category_ids[i]
//   data.records[0].annotations[0].box;      // {x1, y1, x2, y2}
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "autotimm/data/instance_masks.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct DetectionAnnotation {
  std::array<double, 4> box = {};  ///< x1, y1, x2, y2 in pixels
  std::int64_t label = 0;          ///< contiguous class index: categories in ascending id order
  std::int64_t category_id = 0;    ///< the file's category id
  double area = 0.0;               ///< the annotation's `area` (segment area), or the box area when absent
  bool iscrowd = false;
  std::int64_t id = 0;  ///< the annotation's id
  /// The object's mask (instance segmentation): read only with CocoReadOptions::read_segmentation.
  InstanceMaskSource segmentation = {};
};

struct DetectionRecord {
  std::filesystem::path image;  ///< image folder / file_name
  std::int64_t image_id = 0;
  int width = 0;
  int height = 0;
  std::vector<DetectionAnnotation> annotations;
};

struct DetectionDataset {
  std::vector<DetectionRecord> records;   ///< in the file's image order
  std::vector<std::string> class_names;   ///< label → the category's name
  std::vector<std::int64_t> category_ids;  ///< label → the category's id
  std::int64_t dropped_degenerate = 0;     ///< boxes with no width or height, left out
  std::int64_t dropped_small = 0;          ///< boxes under min_bbox_area, left out
};

struct CocoReadOptions {
  double min_bbox_area = 0.0;  ///< boxes whose w·h is smaller are left out (crowd regions included)
  std::uintmax_t max_file_bytes = std::uintmax_t{2} << 30;  ///< larger annotation files are refused, not read
  /// Read each annotation's `segmentation` (polygons, or RLE with counts compressed or not) into
  /// DetectionAnnotation::segmentation; an annotation without one is a FormatError naming it.
  bool read_segmentation = false;
};

/// Reads `annotation_file` (COCO JSON: images, annotations, categories). FormatError naming the file and the entry
/// for anything malformed: missing or mistyped fields, an annotation of an unknown image or category, a bbox that is
/// not four finite numbers with non-negative width and height, duplicate image or category ids.
AUTOTIMM_API DetectionDataset read_coco_detection(const std::filesystem::path& annotation_file,
                                                  const std::filesystem::path& image_dir,
                                                  const CocoReadOptions& options = {});

}  // namespace autotimm
