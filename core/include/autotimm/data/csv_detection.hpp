#pragma once
// Reading detection boxes from a CSV, one row per box, into the same records as the COCO reader:
//
//   image,x1,y1,x2,y2,label
//   street/001.jpg,10,20,110,220,person
//   street/001.jpg,300,40,420,100,car
//   street/002.jpg,,,,,                      <- an image with no objects
//
//   auto train = autotimm::read_csv_detection("data/train.csv");      // images relative to the CSV's folder
//   auto val = autotimm::read_csv_detection("data/val.csv", {}, {.class_names = train.class_names});
//
// Columns may come in any order and others are ignored. Boxes are x1, y1, x2, y2 corners in pixels. Image sizes are
// read from the image files' headers. Plain C++, no torch.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "autotimm/data/coco_detection.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct CsvDetectionOptions {
  /// Label i is class_names[i]; give train's names to val and test so they share its indices. Empty: the CSV's
  /// labels in sorted order.
  std::vector<std::string> class_names = {};
  double min_bbox_area = 0.0;  ///< boxes whose w·h is smaller are left out and counted, as in CocoReadOptions
  std::uintmax_t max_file_bytes = std::uintmax_t{1} << 30;  ///< larger CSV files are refused, not read
};

/// Reads `csv`; image paths are relative to `image_root` (default: the CSV's folder) unless absolute. Records come
/// in order of each image's first row (image_id = that index), a record's boxes in row order; label = category_id =
/// the class index, id = the box's 1-based position among the file's boxes. Boxes with zero width or height are left
/// out and counted in dropped_degenerate. FormatError naming the file, line and column: missing columns, a
/// coordinate that is not a finite number, x2 < x1 or y2 < y1, box and label fields only partly empty, an empty
/// image path; and, naming the line, an image whose header is truncated or garbled (IoError when it cannot be read).
/// ConfigError for a label not among options.class_names, or a CSV without rows.
AUTOTIMM_API DetectionDataset read_csv_detection(const std::filesystem::path& csv,
                                                 const std::filesystem::path& image_root = {},
                                                 const CsvDetectionOptions& options = {});

}  // namespace autotimm
