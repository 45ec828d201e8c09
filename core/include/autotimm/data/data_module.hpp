#pragma once
// DataModule: what a trainer needs from the data side of a run, whatever the task. The loaders produce Batches; the
// task reads what it needs from them. ImageDataModule is the image classification one.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "autotimm/data/loader.hpp"
#include "autotimm/data/transform.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

class AUTOTIMM_API DataModule {
 public:
  virtual ~DataModule();
  /// Reads file lists and splits; idempotent. Loaders call it when needed; call it early to fail fast.
  virtual void setup() = 0;
  virtual DataLoader train_loader() = 0;
  /// nullopt when there is no validation data.
  virtual std::optional<DataLoader> validation_loader() = 0;
  /// nullopt when there is no test data.
  virtual std::optional<DataLoader> test_loader() = 0;
  /// Class names in label order (empty for tasks without classes).
  virtual const std::vector<std::string>& class_names() = 0;
  /// The preprocessing of evaluation (size, interpolation, mean/std, crop), saved into checkpoints for predict.
  virtual DataConfig data_config() const = 0;
  /// The options as JSON, for the run's hyperparameters.
  virtual boost::json::object hparams() const = 0;
  /// Shards every loader for a distributed run: process `index` of `count`.
  virtual void set_shard(int index, int count) = 0;
  /// Samples per batch of the loaders made from now on (the batch-size finder sets it).
  virtual std::int64_t batch_size() const = 0;
  virtual void set_batch_size(std::int64_t batch_size) = 0;
};

/// DataConfig ↔ JSON in timm's pretrained_cfg spelling (input_size, interpolation, mean, std, crop_pct, crop_mode).
AUTOTIMM_API boost::json::object data_config_to_json(const DataConfig& config);
/// FormatError naming `source` and the field for a missing or mistyped field.
AUTOTIMM_API DataConfig data_config_from_json(const boost::json::object& json, const std::string& source);

}  // namespace autotimm
