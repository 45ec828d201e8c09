#pragma once
// Reading semantic segmentation datasets from the layouts users have: images paired with label files, and a table
// saying what the label values mean. Files are listed and paired here, not decoded: SegmentationMask::decode reads a
// label file when the loader needs it.
//
//   auto shapes = autotimm::read_png_segmentation("shapes/images/train", "shapes/masks/train",
//                                                 {.class_names = {"background", "rectangle", "ellipse", "triangle"}});
//   auto voc = autotimm::read_voc_segmentation("VOCdevkit/VOC2012", "train");
//   auto city = autotimm::read_cityscapes_segmentation("cityscapes", "val");
//   auto coco = autotimm::read_coco_panoptic_segmentation("annotations/panoptic_val2017.json", "val2017",
//                                                         "annotations/panoptic_val2017");
//   auto rows = autotimm::read_csv_segmentation("data/train.csv", {}, {.num_classes = 5});
//   autotimm::Image labels = voc.records[0].mask.decode(voc.ignore_index);   // 1 channel, class per pixel
//
// Plain C++, no torch.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "autotimm/data/segmentation_mask.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

/// What the label values mean, and how strictly files are paired. One struct for every reader; fields a reader does
/// not use are said so below.
struct SegmentationReadOptions {
  /// Class index → name; give train's names to val and test. Empty: the names built into the format (VOC's 21
  /// classes, Cityscapes' 19 train classes, the COCO file's categories in ascending id order), or "0" … "n-1" from
  /// num_classes. PNG folders and CSVs have no names of their own: give class_names or num_classes.
  std::vector<std::string> class_names = {};
  std::int64_t num_classes = 0;  ///< with class_names empty: classes named "0" … "n-1"; 0: not given
  /// Raw value → class index (or ignore_index). It replaces the format's own table: the label value (PNG, CSV),
  /// the VOC palette index, the Cityscapes labelId, the COCO category id. Values it does not map are ignored.
  /// Empty: the format's table; for PNG and CSV, value v is class v, and a value that is neither a class nor
  /// ignore_index is an error when the mask is decoded (a stray value is reported, not silently ignored).
  std::map<std::int64_t, std::int64_t> class_mapping = {};
  std::uint8_t ignore_index = 255;  ///< the class index of pixels no loss or metric counts; at least the class count
  /// An image whose label file (or a listed image file) is missing is left out, with one warning giving the count,
  /// instead of being an error.
  bool skip_missing = false;
  /// CSV, split list and JSON files larger than this are refused, not read.
  std::uintmax_t max_file_bytes = std::uintmax_t{2} << 30;
};

/// Images under `images_dir` (sub-folders included, any of image_extensions(), hidden entries skipped, sorted by
/// path) paired with label PNGs of the same relative path and stem under `masks_dir` (images/a/x.jpg ↔
/// masks/a/x.png); encoding label_values (gray 8- or 16-bit). Masks without an image are not read.
/// NotFoundError when a folder is missing or an image has no mask (unless skip_missing); ConfigError for no images,
/// two images with one stem, and options that do not fit (no classes, a class_mapping value that is no class,
/// ignore_index below the class count, duplicate class names).
AUTOTIMM_API SegmentationDataset read_png_segmentation(const std::filesystem::path& images_dir,
                                                       const std::filesystem::path& masks_dir,
                                                       const SegmentationReadOptions& options = {});

/// PASCAL VOC 2012: ids from root/ImageSets/Segmentation/<split>.txt (one per line), images root/JPEGImages/<id>.jpg,
/// masks root/SegmentationClass/<id>.png in the VOC colour map (encoding voc_palette; gray images of palette indices,
/// as SegmentationClassAug has them, read too). Palette index i < 21 is class i (voc_segmentation_classes()), the
/// border colour (index 255) and the indices VOC does not use are ignored. NotFoundError for a missing split file
/// (listing those present), image or mask (unless skip_missing); FormatError naming the line for an id with spaces
/// or listed twice; ConfigError for an empty split.
AUTOTIMM_API SegmentationDataset read_voc_segmentation(const std::filesystem::path& root, const std::string& split,
                                                       const SegmentationReadOptions& options = {});

/// Cityscapes fine annotations: root/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png with
/// root/gtFine/<split>/<city>/<name>_gtFine_labelIds.png (sorted by path). LabelIds map to the 19 train classes
/// (cityscapes_segmentation_classes()) by the official labelId → trainId table; the other ids (unlabeled, ego
/// vehicle, parking, guard rail, …) are ignored, and a value above 33 is an error at decode (not a labelIds image).
/// NotFoundError for a missing split folder (listing those present) or label file (unless skip_missing);
/// ConfigError when the split has no *_leftImg8bit.png images.
AUTOTIMM_API SegmentationDataset read_cityscapes_segmentation(const std::filesystem::path& root,
                                                              const std::string& split,
                                                              const SegmentationReadOptions& options = {});

/// COCO panoptic: `annotation_json` (images, annotations with file_name and segments_info [{id, category_id}],
/// categories) with images under `images_dir` and the RGB segment-id PNGs under `panoptic_dir` (encoding
/// panoptic_rgb). Categories in ascending id order are classes 0, 1, …; each record's segment_classes maps its
/// segment ids to their category's class (crowd segments included: a semantic label has no instances); unlabelled
/// pixels (id 0) are ignored. Records are the annotations in file order; images without one are left out.
/// FormatError naming the file and the entry for anything malformed (missing or mistyped fields, an unknown image
/// or category, a segment id that is 0, over 2^24 - 1 or given twice, duplicate ids); NotFoundError for a missing
/// image or PNG (unless skip_missing).
AUTOTIMM_API SegmentationDataset read_coco_panoptic_segmentation(const std::filesystem::path& annotation_json,
                                                                 const std::filesystem::path& images_dir,
                                                                 const std::filesystem::path& panoptic_dir,
                                                                 const SegmentationReadOptions& options = {});

/// A CSV whose header names an `image` and a `mask` column (any order, other columns ignored); paths relative to
/// `image_root` (default: the CSV's folder) unless absolute; encoding label_values, classes as for
/// read_png_segmentation. FormatError naming the file, line and column: missing columns, an empty path;
/// NotFoundError naming the line for a missing file (unless skip_missing); ConfigError for a CSV without rows.
AUTOTIMM_API SegmentationDataset read_csv_segmentation(const std::filesystem::path& csv,
                                                       const std::filesystem::path& image_root = {},
                                                       const SegmentationReadOptions& options = {});

/// The 21 PASCAL VOC classes, background first (index = palette index).
AUTOTIMM_API const std::vector<std::string>& voc_segmentation_classes();

/// The 19 Cityscapes train classes (index = trainId).
AUTOTIMM_API const std::vector<std::string>& cityscapes_segmentation_classes();

}  // namespace autotimm
