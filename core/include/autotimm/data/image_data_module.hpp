#pragma once
// The data side of an image classification run, as AutoTimm's ImageDataModule: where the images are, how they are
// split and transformed, and the loaders.
//
//   autotimm::ImageDataModule data({.data_dir = "data/flowers", .image_size = 224, .batch_size = 32});
//   data.setup();                       // lists files, splits, checks classes
//   auto train = data.train_loader();   // DataLoader with the train preset
//
// Layouts (`format`): "folder" (train/, val/, test/ with one folder per class; without val/, a seeded val_split of
// train evaluated with the eval transform), "csv" (train_csv / val_csv / test_csv with image,label columns), "idx"
// (MNIST-style train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-… in data_dir), "auto" (folder when
// data_dir/train exists, idx when the IDX files are there, csv when train_csv is set).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/array.hpp>

#include "autotimm/config.hpp"
#include "autotimm/data/data_module.hpp"
#include "autotimm/data/dataset.hpp"
#include "autotimm/data/loader.hpp"
#include "autotimm/data/transform.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct ImageDataOptions {
  std::filesystem::path data_dir = {};
  std::string format = "auto";                  ///< auto, folder, csv, idx
  std::filesystem::path train_csv = {};
  std::filesystem::path val_csv = {};
  std::filesystem::path test_csv = {};
  std::filesystem::path image_dir = {};         ///< root of CSV image paths (default: each CSV's folder)
  bool multi_label = false;                     ///< CSVs with one 0/1 column per label
  std::vector<std::string> class_names = {};    ///< IDX class names (default "0".."9")
  std::int64_t image_size = 224;                ///< used when no data config is set
  std::optional<DataConfig> data_config = {};   ///< a backbone's (DataConfig::from(pretrained_cfg)); wins over image_size
  std::string train_transforms = "default";     ///< a preset (train_presets())
  boost::json::array transforms = {};           ///< instead of the preset: [{"name": ...}, ...]
  std::int64_t batch_size = 32;
  int num_workers = 4;
  double val_split = 0.1;                       ///< of train, when there is no val set
  std::uint64_t seed = 42;
  bool balanced_sampling = false;
  bool strict_data = false;
  int shard_index = 0;                          ///< distributed runs: this process's shard
  int num_shards = 1;

  /// From a config object (the keys above; paths as strings, data_config as a pretrained_cfg-style object).
  static ImageDataOptions from(const Config& config);
};

class AUTOTIMM_API ImageDataModule : public DataModule {
 public:
  explicit ImageDataModule(ImageDataOptions options);

  /// Reads the file lists and splits them. Called by the loaders when needed; call it early to fail fast.
  void setup() override;
  /// Uses a backbone's input config (size, interpolation, mean/std, crop) from now on.
  void set_data_config(const DataConfig& config);

  const std::vector<std::string>& class_names() override;
  std::int64_t num_classes();
  bool multi_label() const noexcept { return options_.multi_label; }

  DataLoader train_loader() override;
  /// ConfigError when there is no validation data.
  DataLoader val_loader();
  std::optional<DataLoader> validation_loader() override;
  /// nullopt when there is no test set.
  std::optional<DataLoader> test_loader() override;

  std::shared_ptr<const ImageDataset> train_dataset();
  std::shared_ptr<const ImageDataset> val_dataset();
  std::shared_ptr<const ImageDataset> test_dataset();

  DataConfig data_config() const override;
  TransformPtr train_transform() const;
  TransformPtr eval_transform() const;
  const ImageDataOptions& options() const noexcept { return options_; }
  boost::json::object hparams() const override;
  void set_shard(int index, int count) override;
  std::int64_t batch_size() const override { return options_.batch_size; }
  void set_batch_size(std::int64_t batch_size) override;

 private:
  LoaderOptions loader_options(bool training) const;

  ImageDataOptions options_;
  bool ready_ = false;
  std::shared_ptr<const ImageDataset> train_, val_, test_;
};

/// The multi-label flavour: CSVs with one 0/1 column per label; targets are [B, C] floats.
class AUTOTIMM_API MultiLabelImageDataModule : public ImageDataModule {
 public:
  explicit MultiLabelImageDataModule(ImageDataOptions options);
};

}  // namespace autotimm
