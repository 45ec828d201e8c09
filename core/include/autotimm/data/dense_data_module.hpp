#pragma once
// What the dense tasks' data modules (detection, segmentation) share: images letterboxed to one size, a train
// preset or transform list, the backbone's normalisation, batching and sharding, and the three splits as datasets the
// loader reads. A format's module says how it reads its splits and which presets it has.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "autotimm/data/data_module.hpp"
#include "autotimm/data/dataset.hpp"
#include "autotimm/data/loader.hpp"
#include "autotimm/data/transform.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

/// How a dense data module loads, whatever it reads (each module's options struct has these fields).
struct DenseLoading {
  std::int64_t image_size = 512;
  std::string train_transforms = "default";
  boost::json::array transforms = {};
  std::array<double, 3> mean = {0.485, 0.456, 0.406};
  std::array<double, 3> std = {0.229, 0.224, 0.225};
  std::int64_t batch_size = 8;
  int num_workers = 4;
  std::uint64_t seed = 42;
  bool strict_data = false;
  int shard_index = 0;
  int num_shards = 1;
};

class AUTOTIMM_API DenseDataModule : public DataModule {
 public:
  /// Reads the splits once; the loaders call it when needed.
  void setup() final;
  DataLoader train_loader() override;
  std::optional<DataLoader> validation_loader() override;
  std::optional<DataLoader> test_loader() override;
  const std::vector<std::string>& class_names() override;
  /// input_size image_size², bilinear, the mean and std, crop_mode "letterbox": eval_transform(data_config()) is
  /// the evaluation transform, and predict resizes the same way from a checkpoint.
  DataConfig data_config() const override;
  void set_shard(int index, int count) override;
  std::int64_t batch_size() const override { return loading_.batch_size; }
  void set_batch_size(std::int64_t batch_size) override;
  /// The backbone's normalisation (the task sets it when it attaches the data).
  void set_normalization(const std::array<double, 3>& mean, const std::array<double, 3>& std);

  std::shared_ptr<const ImageDataset> train_dataset();
  std::shared_ptr<const ImageDataset> val_dataset();   ///< null when there is no val set
  std::shared_ptr<const ImageDataset> test_dataset();  ///< null when there is no test set
  /// The transform list when given, else the module's preset.
  TransformPtr train_transform() const;
  TransformPtr eval_transform() const;
  const DenseLoading& loading() const noexcept { return loading_; }

 protected:
  /// ConfigError for an image size outside 32..8192 or a batch size under 1.
  explicit DenseDataModule(DenseLoading loading);

  struct Splits {
    ImageDataset train;
    std::optional<ImageDataset> val = {};
    std::optional<ImageDataset> test = {};
  };
  /// The splits, read once by setup(); train must have items.
  virtual Splits read_splits() = 0;
  /// The module's named train preset (ConfigError listing them for another name).
  virtual TransformPtr preset_transform(std::string_view preset, const DataConfig& config) const = 0;
  /// The loading keys of hparams (image_size, data_config, transforms, batch_size, ...) added to `json`.
  void add_loading_hparams(boost::json::object& json) const;

 private:
  LoaderOptions loader_options(bool training) const;

  DenseLoading loading_;
  bool ready_ = false;
  std::shared_ptr<const ImageDataset> train_, val_, test_;
};

}  // namespace autotimm
