#pragma once
// Semantic segmentation labels as the data module reads them: where an image's label file is, how it stores classes,
// and how it becomes a one-channel map of class indices. Plain C++, no torch.
//
//   auto data = autotimm::read_png_segmentation("shapes/images/train", "shapes/masks/train", {...});
//   autotimm::Image labels = data.records[0].mask.decode(data.ignore_index);   // 1 channel, class per pixel
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "autotimm/data/image.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

/// How a label file stores classes.
enum class MaskEncoding {
  label_values,  ///< a gray PNG (8 or 16 bit) of raw label values, mapped through value_to_class
  voc_palette,   ///< a palette PNG in the PASCAL VOC colour map (read as RGB), each colour mapped to its index first
  panoptic_rgb,  ///< COCO panoptic: segment id = R + 256·G + 256²·B, mapped through segment_classes
};

/// An image's label file and what its values mean.
struct AUTOTIMM_API SegmentationMask {
  std::filesystem::path path = {};
  MaskEncoding encoding = MaskEncoding::label_values;
  /// label_values and voc_palette: raw value (or palette index) → class index, or the ignore index. Values beyond
  /// the table are ignored (unless reject_values_beyond_table). Shared by every record of a dataset.
  std::shared_ptr<const std::vector<std::uint8_t>> value_to_class = {};
  /// panoptic_rgb: segment id → class index; id 0 and unknown ids are ignored (void).
  std::shared_ptr<const std::unordered_map<std::uint32_t, std::uint8_t>> segment_classes = {};
  /// label_values and voc_palette: a value beyond value_to_class (other than the ignore index itself) makes decode
  /// throw a FormatError naming the file, the pixel and the value, instead of being ignored. Readers set it when the
  /// classes are the values 0 … n-1 themselves, so a stray value is reported, not silently dropped from training.
  bool reject_values_beyond_table = false;

  /// One channel, a class index per pixel (`ignore_index` where unlabelled). FormatError / IoError naming the file
  /// when it cannot be read or is not a label image of this encoding.
  Image decode(std::uint8_t ignore_index) const;
};

struct SegmentationRecord {
  std::filesystem::path image = {};
  SegmentationMask mask = {};
};

struct SegmentationDataset {
  std::vector<SegmentationRecord> records = {};
  std::vector<std::string> class_names = {};  ///< class index → name
  std::uint8_t ignore_index = 255;            ///< the value of pixels no loss or metric counts
  std::string source = {};                    ///< where it was read from, for messages
};

}  // namespace autotimm
