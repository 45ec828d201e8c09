#pragma once
// Reading a detection dataset in the Ultralytics YOLO layout into the same records as the COCO reader:
//
//   <root>/images/<split>/**/<name>.jpg     images (any of image_extensions(), sub-folders included)
//   <root>/labels/<split>/**/<name>.txt     one line per box: class cx cy w h, normalised to [0, 1]; no file: no
//                                           objects in the image
//   <root>/classes.txt or <root>/data.yaml  class names (one per line, or under `names:`)
//
//   auto train = autotimm::read_yolo_detection("coco8", "train");
//   train.records[0].annotations[0].box;   // {x1, y1, x2, y2} in pixels, clipped to the image
//
// Image sizes are read from the image files' headers. Plain C++, no torch.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "autotimm/data/coco_detection.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct YoloDetectionOptions {
  /// Class i's name. Empty: root/classes.txt (line i names class i), else `names:` in root/data.yaml.
  std::vector<std::string> class_names = {};
  double min_bbox_area = 0.0;  ///< boxes whose w·h (pixels, after clipping) is smaller are left out and counted
  /// Label files, classes.txt and data.yaml larger than this are refused, not read.
  std::uintmax_t max_file_bytes = std::uintmax_t{64} << 20;
};

/// Reads split `split` (`train`, `val`, …) of the dataset at `root`. Records are the images in sorted path order
/// (image_id = that index), a record's boxes in line order; label = category_id = the class index, id = the box's
/// 1-based position among the split's boxes; category_ids are 0 … n-1. Boxes are denormalised with the image's
/// size and clipped to it; those left with no width or height are counted in dropped_degenerate.
/// NotFoundError when root/images/<split> is missing; ConfigError when it holds no images or no class names are
/// found. FormatError naming the file and line: a line without exactly 5 fields, a class outside 0 … n-1, a number
/// that is not finite or lies outside [0, 1] (by more than 1e-6); a file over max_file_bytes; data.yaml `names:` in a
/// form the minimal reader does not know; an image whose header is truncated or garbled.
AUTOTIMM_API DetectionDataset read_yolo_detection(const std::filesystem::path& root, const std::string& split,
                                                  const YoloDetectionOptions& options = {});

}  // namespace autotimm
