#include "autotimm/data/dense_data_module.hpp"

#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "data_module_checks.hpp"

namespace autotimm {

DenseDataModule::DenseDataModule(DenseLoading loading) : loading_(std::move(loading)) {
  if (loading_.image_size < 32 || loading_.image_size > 8192) {
    throw ConfigError("image_size must be within 32..8192, got " + std::to_string(loading_.image_size));
  }
  data::check_batch_size(loading_.batch_size);
}

void DenseDataModule::setup() {
  if (ready_) return;
  Splits splits = read_splits();
  if (splits.train.items.empty()) throw ConfigError("the training set " + splits.train.source + " has no images");
  train_ = std::make_shared<const ImageDataset>(std::move(splits.train));
  if (splits.val && !splits.val->items.empty()) val_ = std::make_shared<const ImageDataset>(std::move(*splits.val));
  if (splits.test && !splits.test->items.empty()) test_ = std::make_shared<const ImageDataset>(std::move(*splits.test));
  ready_ = true;
}

const std::vector<std::string>& DenseDataModule::class_names() {
  setup();
  return train_->class_names;
}

std::shared_ptr<const ImageDataset> DenseDataModule::train_dataset() {
  setup();
  return train_;
}
std::shared_ptr<const ImageDataset> DenseDataModule::val_dataset() {
  setup();
  return val_;
}
std::shared_ptr<const ImageDataset> DenseDataModule::test_dataset() {
  setup();
  return test_;
}

DataConfig DenseDataModule::data_config() const {
  DataConfig config;
  config.input_size = {3, loading_.image_size, loading_.image_size};
  config.interpolation = Interpolation::bilinear;
  config.mean = loading_.mean;
  config.std = loading_.std;
  config.crop_pct = 1.0;
  config.crop_mode = "letterbox";
  return config;
}

void DenseDataModule::set_normalization(const std::array<double, 3>& mean, const std::array<double, 3>& std) {
  loading_.mean = mean;
  loading_.std = std;
}

TransformPtr DenseDataModule::train_transform() const {
  if (!loading_.transforms.empty()) return make_transforms(loading_.transforms, "transforms");
  return preset_transform(loading_.train_transforms, data_config());
}

TransformPtr DenseDataModule::eval_transform() const { return autotimm::eval_transform(data_config()); }

LoaderOptions DenseDataModule::loader_options(bool training) const {
  return LoaderOptions{.batch_size = loading_.batch_size,
                       .shuffle = training,
                       .drop_last = false,
                       .num_workers = loading_.num_workers,
                       .seed = loading_.seed,
                       .strict_data = loading_.strict_data,
                       .mean = loading_.mean,
                       .std = loading_.std,
                       .shard_index = loading_.shard_index,
                       .num_shards = loading_.num_shards};
}

DataLoader DenseDataModule::train_loader() {
  setup();
  return DataLoader(train_, train_transform(), loader_options(true));
}

std::optional<DataLoader> DenseDataModule::validation_loader() {
  setup();
  if (!val_) return std::nullopt;
  return DataLoader(val_, eval_transform(), loader_options(false));
}

std::optional<DataLoader> DenseDataModule::test_loader() {
  setup();
  if (!test_) return std::nullopt;
  return DataLoader(test_, eval_transform(), loader_options(false));
}

void DenseDataModule::set_batch_size(std::int64_t batch_size) {
  data::check_batch_size(batch_size);
  loading_.batch_size = batch_size;
}

void DenseDataModule::set_shard(int index, int count) {
  data::check_shard(index, count);
  loading_.shard_index = index;
  loading_.num_shards = count;
}

void DenseDataModule::add_loading_hparams(boost::json::object& json) const {
  json["image_size"] = loading_.image_size;
  json["data_config"] = data_config_to_json(data_config());
  if (loading_.transforms.empty()) {
    json["train_transforms"] = loading_.train_transforms;
  } else {
    json["transforms"] = loading_.transforms;
  }
  json["batch_size"] = loading_.batch_size;
  json["num_workers"] = loading_.num_workers;
  json["seed"] = loading_.seed;
  json["strict_data"] = loading_.strict_data;
}

}  // namespace autotimm
