#pragma once
// A run described by one JSON file, as the CLI's fit/validate/test and config-driven apps read it:
//
//   {
//     "model":   {"class": "ImageClassifier", "backbone": "resnet18", "pretrained": false, "lr": 0.001},
//     "data":    {"class": "ImageDataModule", "data_dir": "data/flowers", "image_size": 224, "batch_size": 32},
//     "trainer": {"max_epochs": 10, "callbacks": [{"name": "early_stopping", "patience": 3}]},
//     "ckpt_path": "runs/logs/version_0/checkpoints/last.ckpt",
//     "plugins": ["plugins/libautotimm_loss_focal.so"]
//   }
//
//   auto run = autotimm::RunConfig::load("run.json", {"trainer.max_epochs=3"});
//   auto model = run.make_model();
//   auto data = run.make_data();
//   autotimm::AutoTrainer trainer(run.trainer_options());
//   run.expect_all_used();   // unknown keys anywhere → ConfigError with the closest valid one
//
// Model classes: ImageClassifier, ObjectDetector, SemanticSegmentor, InstanceSegmentor. Data classes:
// ImageDataModule, MultiLabelImageDataModule, DetectionDataModule, SegmentationDataModule,
// InstanceSegmentationDataModule. "plugins" lists extra plugin libraries or folders (relative to the config file) loaded into
// the registry before anything is built, so a config can name a backbone, head or loss that only those provide.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/config.hpp"
#include "autotimm/data/data_module.hpp"
#include "autotimm/export.hpp"
#include "autotimm/tasks/task.hpp"
#include "autotimm/trainer/auto_trainer.hpp"

namespace autotimm {

class AUTOTIMM_API RunConfig {
 public:
  /// Reads `path` and applies `overrides` ("trainer.max_epochs=3": a dotted path and a JSON value, or a bare
  /// string), each a ConfigError naming it when malformed.
  static RunConfig load(const std::filesystem::path& path, const std::vector<std::string>& overrides = {});
  /// From an object already in memory (`source` names it in messages).
  RunConfig(boost::json::object root, std::string source);

  std::shared_ptr<Task> make_model() const;
  std::shared_ptr<DataModule> make_data() const;
  AutoTrainerOptions trainer_options() const;
  /// "ckpt_path", or empty.
  std::string ckpt_path() const;
  /// Marks the model section as used without building it (when the model comes from a checkpoint).
  void skip_model() const;
  void expect_all_used() const { root_.expect_all_used(); }
  const Config& root() const noexcept { return root_; }

 private:
  void load_plugins() const;
  Config root_;
};

/// Sets `assignment` ("a.b.c=value") in `root`, creating objects on the way. The value is parsed as JSON when it is
/// valid JSON, else taken as a string.
AUTOTIMM_API void apply_override(boost::json::object& root, std::string_view assignment);

}  // namespace autotimm
