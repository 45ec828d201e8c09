#pragma once
// Reading instance masks from a CSV, one row per object with a mask PNG of its own, into the same records as the
// COCO reader (read with CocoReadOptions::read_segmentation):
//
//   image,mask,label
//   street/001.jpg,masks/001_0.png,person
//   street/001.jpg,masks/001_1.png,car
//   street/002.jpg,,                          <- an image with no objects
//
//   auto train = autotimm::read_csv_instances("data/train.csv");     // paths relative to the CSV's folder
//   auto val = autotimm::read_csv_instances("data/val.csv", {}, {.class_names = train.class_names});
//   train.records[0].annotations[0].segmentation.png;                 // the mask file, decoded by the loader
//
// Columns may come in any order and others are ignored. A mask is a PNG of the image's size (gray, RGB or palette;
// 8 or 16 bit), nonzero in any colour channel on the object. Every mask is decoded once while reading, to check it
// and to compute the object's box and area. Plain C++, no torch.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "autotimm/data/coco_detection.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct CsvInstanceOptions {
  /// Label i is class_names[i]; give train's names to val and test so they share its indices. Empty: the CSV's
  /// labels in sorted order.
  std::vector<std::string> class_names = {};
  std::uintmax_t max_file_bytes = std::uintmax_t{1} << 30;  ///< larger CSV files are refused, not read
};

/// Reads `csv`; image and mask paths are relative to `image_root` (default: the CSV's folder) unless absolute.
/// Records come in order of each image's first row (image_id = that index), with sizes read from the image headers;
/// a record's objects in row order, each with segmentation.png = its mask file, box = the tight box of the mask's
/// pixels (x1, y1 = first column and row, x2, y2 = last + 1, as COCO's bbox), area = its pixel count,
/// label = category_id = the class index and id = the object's 1-based position among the file's objects. An empty
/// mask is left out and counted in dropped_degenerate. FormatError naming the file, line and column: missing
/// columns, mask and label only one empty, an empty image path, a mask that cannot be decoded or is not the image's
/// size; and, naming the line, an image whose header is truncated or garbled (IoError when an image or mask cannot
/// be read). ConfigError for a label not among options.class_names, or a CSV without rows.
AUTOTIMM_API DetectionDataset read_csv_instances(const std::filesystem::path& csv,
                                                 const std::filesystem::path& image_root = {},
                                                 const CsvInstanceOptions& options = {});

}  // namespace autotimm
