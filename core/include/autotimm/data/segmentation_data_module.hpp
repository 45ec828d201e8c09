#pragma once
// The data side of a semantic segmentation run: images with label maps read from the layouts users have, mask-aware
// transforms (labels are moved, never interpolated; padding is ignored), and loaders whose batches carry the label
// maps [B, H, W] as `targets`.
//
//   autotimm::SegmentationDataModule data({.data_dir = "shapes", .format = "png",
//                                          .class_names = {"background", "rectangle", "ellipse", "triangle"},
//                                          .image_size = 256, .batch_size = 8});
//
// Formats: "png" (images/<split>/ with masks/<split>/<stem>.png of class values, or explicit folders), "voc"
// (VOC2012: JPEGImages, SegmentationClass, ImageSets/Segmentation), "cityscapes" (leftImg8bit + gtFine labelIds, the
// 19 train classes), "coco" (panoptic JSON + PNGs), "csv" (image,mask columns), "auto" (csv when train_csv is set,
// voc, cityscapes or png by the folders present, coco when train_annotations is set).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "autotimm/config.hpp"
#include "autotimm/data/dense_data_module.hpp"
#include "autotimm/data/segmentation_mask.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct SegmentationDataOptions {
  std::filesystem::path data_dir = {};
  std::string format = "auto";                  ///< auto, png, voc, cityscapes, coco, csv
  std::filesystem::path train_images = {};      ///< png: default data_dir/images/train; coco: the image folder
  std::filesystem::path val_images = {};
  std::filesystem::path test_images = {};
  std::filesystem::path train_masks = {};       ///< png: default data_dir/masks/train; coco: the panoptic PNG folder
  std::filesystem::path val_masks = {};
  std::filesystem::path test_masks = {};
  std::filesystem::path train_annotations = {}; ///< coco: the panoptic JSON of each split
  std::filesystem::path val_annotations = {};
  std::filesystem::path test_annotations = {};
  std::filesystem::path train_csv = {};         ///< csv: image,mask (paths relative to image_dir)
  std::filesystem::path val_csv = {};
  std::filesystem::path test_csv = {};
  std::filesystem::path image_dir = {};         ///< csv: root of the paths (default: each CSV's folder)
  std::vector<std::string> class_names = {};    ///< png, csv: required (or num_classes); others: built in
  std::int64_t num_classes = 0;                 ///< png, csv without names: classes "0" … "n-1"
  std::map<std::int64_t, std::int64_t> class_mapping = {};  ///< raw label value → class (unmapped: ignored)
  std::int64_t ignore_index = 255;
  bool skip_missing = false;                    ///< images without a label file are left out (with a warning)
  std::int64_t image_size = 512;                ///< the training crop and the evaluation letterbox size
  std::string train_transforms = "default";     ///< default, light, none (segmentation_train_presets())
  boost::json::array transforms = {};
  std::array<double, 3> mean = {0.485, 0.456, 0.406};
  std::array<double, 3> std = {0.229, 0.224, 0.225};
  std::int64_t batch_size = 8;
  int num_workers = 4;
  std::uint64_t seed = 42;
  bool strict_data = false;
  int shard_index = 0;
  int num_shards = 1;

  /// From a config object (the keys above; class_mapping as {"raw value": class, ...}).
  static AUTOTIMM_API SegmentationDataOptions from(const Config& config);
};

/// Segmentation records as a dataset the loader reads (items carry their label files).
AUTOTIMM_API ImageDataset segmentation_dataset(const SegmentationDataset& data);

class AUTOTIMM_API SegmentationDataModule : public DenseDataModule {
 public:
  explicit SegmentationDataModule(SegmentationDataOptions options);

  boost::json::object hparams() const override;
  std::int64_t ignore_index() const noexcept { return options_.ignore_index; }
  const SegmentationDataOptions& options() const noexcept { return options_; }

 private:
  Splits read_splits() override;
  TransformPtr preset_transform(std::string_view preset, const DataConfig& config) const override;

  SegmentationDataOptions options_;
};

}  // namespace autotimm
