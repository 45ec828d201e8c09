#pragma once
// The data side of an object detection run: annotated images, box-aware transforms, and loaders whose batches carry
// per-image boxes, labels, crowd flags, areas, image ids, original sizes and the map back to the original pixels.
//
//   autotimm::DetectionDataModule data({.data_dir = "shapes", .image_size = 320, .batch_size = 8});
//   // shapes/annotations/instances_{train,val}.json + shapes/images/{train,val}/ (COCO layout)
//   auto train = data.train_loader();   // letterbox to 320x320, flip, colour jitter
//
// Formats: "coco" (annotations/instances_<split>.json with images/<split>/, or explicit annotation files and image
// folders), "csv" (one row per box: image,x1,y1,x2,y2,label), "yolo" (images/<split>/ + labels/<split>/*.txt),
// "auto" (csv when train_csv is set, yolo when labels/train exists, else coco). Crowd regions are kept: evaluation
// follows COCO's rules for them and training ignores them.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/array.hpp>

#include "autotimm/config.hpp"
#include "autotimm/data/coco_detection.hpp"
#include "autotimm/data/dataset.hpp"
#include "autotimm/data/dense_data_module.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct DetectionDataOptions {
  std::filesystem::path data_dir = {};
  std::string format = "auto";                     ///< auto, coco, csv, yolo
  std::filesystem::path train_annotations = {};    ///< coco: default data_dir/annotations/instances_train.json
  std::filesystem::path val_annotations = {};      ///< coco: default …/instances_val.json when it exists
  std::filesystem::path test_annotations = {};     ///< coco: default …/instances_test.json when it exists
  std::filesystem::path train_images = {};         ///< coco: default data_dir/images/train
  std::filesystem::path val_images = {};
  std::filesystem::path test_images = {};
  std::filesystem::path train_csv = {};            ///< csv: image,x1,y1,x2,y2,label (paths relative to image_dir)
  std::filesystem::path val_csv = {};
  std::filesystem::path test_csv = {};
  std::filesystem::path image_dir = {};            ///< csv: root of the image paths (default: each CSV's folder)
  std::vector<std::string> class_names = {};       ///< csv, yolo: class names (default: from the files)
  double min_bbox_area = 0.0;                      ///< smaller boxes are left out when reading
  std::int64_t image_size = 512;                   ///< images are letterboxed to image_size × image_size
  std::string train_transforms = "default";        ///< default, strong, none (detection_train_presets())
  boost::json::array transforms = {};              ///< instead of the preset: [{"name": ...}, ...]
  std::array<double, 3> mean = {0.485, 0.456, 0.406};
  std::array<double, 3> std = {0.229, 0.224, 0.225};
  std::int64_t batch_size = 8;
  int num_workers = 4;
  std::uint64_t seed = 42;
  bool strict_data = false;
  int shard_index = 0;
  int num_shards = 1;

  /// From a config object (the keys above; paths as strings). Unknown keys are left to expect_all_used().
  static AUTOTIMM_API DetectionDataOptions from(const Config& config);
};

/// Detection records as a dataset the loader reads (items carry their objects, and their instance masks when
/// `instance_masks`: every annotation must then have its segmentation).
AUTOTIMM_API ImageDataset detection_dataset(const DetectionDataset& data, const std::string& source,
                                            bool instance_masks = false);

class AUTOTIMM_API DetectionDataModule : public DenseDataModule {
 public:
  explicit DetectionDataModule(DetectionDataOptions options);

  boost::json::object hparams() const override;
  /// The options as given (batch size, shard and normalisation as set since: loading()).
  const DetectionDataOptions& options() const noexcept { return options_; }

 protected:
  /// `instance_masks`: read each object's mask too (InstanceSegmentationDataModule).
  DetectionDataModule(DetectionDataOptions options, bool instance_masks);

 private:
  Splits read_splits() override;
  TransformPtr preset_transform(std::string_view preset, const DataConfig& config) const override;

  DetectionDataOptions options_;
  bool instance_masks_ = false;
};

}  // namespace autotimm
