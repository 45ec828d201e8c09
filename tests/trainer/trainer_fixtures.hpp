#pragma once
// What the trainer tests share: one generated colour dataset per test binary, options for a small resnet10t
// classifier and a quiet trainer, and callbacks that record or stop a run.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <torch/torch.h>
#include <memory>
#include <vector>

#include "autotimm/callback.hpp"
#include "autotimm/data/image_data_module.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/trainer/auto_trainer.hpp"
#include "support/temp_dir.hpp"
#include "synthetic_images.hpp"

namespace autotimm::testing {

/// train 12, val 4, test 4 images per class (3 classes), 16×16 PNGs; written once per test binary.
inline const std::filesystem::path& color_data_dir() {
  static TempDir dir;
  static const bool written = [] {
    write_color_folder(dir.path(), 12, 4, 4);
    return true;
  }();
  (void)written;
  return dir.path();
}

inline ImageDataOptions color_data_options() {
  return ImageDataOptions{.data_dir = color_data_dir(),
                          .image_size = 32,
                          .train_transforms = "light",
                          .batch_size = 8,
                          .num_workers = 2,
                          .seed = 3};
}

inline ImageClassifierOptions tiny_classifier_options() {
  return ImageClassifierOptions{.backbone = "resnet10t", .lr = 3e-3, .pretrained = false};
}

inline AutoTrainerOptions quiet_trainer(const std::filesystem::path& root, std::int64_t max_epochs) {
  return AutoTrainerOptions{.max_epochs = max_epochs,
                            .default_root_dir = root,
                            .enable_progress_bar = false,
                            .enable_model_summary = false};
}

/// How much every parameter moves in one step of plain SGD (lr 1, no momentum, decay or schedule) with gradient
/// clipping: the step is exactly the clipped gradient, which the clipping tests measure.
inline std::vector<torch::Tensor> clipped_step_changes(const std::filesystem::path& root, double clip_value,
                                                       const std::string& algorithm) {
  auto options = tiny_classifier_options();
  options.optimizer = "sgd";
  options.optimizer_options = {{"momentum", 0.0}};
  options.lr = 1.0;
  options.weight_decay = 0.0;
  options.scheduler = "none";
  options.num_classes = 3;  // the head exists before fit: every parameter is in the snapshot
  ImageClassifier model(options);
  ImageDataModule data(color_data_options());
  std::vector<torch::Tensor> changes;
  for (const auto& p : model.parameters()) changes.push_back(p.detach().clone());
  auto o = quiet_trainer(root, 1);
  o.limit_train_batches = 1;
  o.enable_checkpointing = false;
  o.num_sanity_val_steps = 0;
  o.gradient_clip_val = clip_value;
  o.gradient_clip_algorithm = algorithm;
  AutoTrainer(o).fit(model, data);
  std::size_t i = 0;
  for (const auto& p : model.parameters()) {
    changes[i] = p.detach() - changes[i];
    ++i;
  }
  return changes;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Every training loss, in order.
struct LossRecorder : Callback {
  std::vector<double> losses;
  std::vector<std::int64_t> epochs;
  void on_train_batch_end(TrainingState& state) override {
    losses.push_back(state.metrics.at("train/loss"));
    epochs.push_back(state.epoch);
  }
};

/// Stops fit after batch `batch` of epoch `epoch` (or at the end of the epoch when batch is -1).
struct StopAt : Callback {
  std::int64_t epoch, batch;
  StopAt(std::int64_t e, std::int64_t b) : epoch(e), batch(b) {}
  void on_train_batch_end(TrainingState& state) override {
    if (batch >= 0 && state.epoch == epoch && state.batch_idx == batch) state.should_stop = true;
  }
  void on_train_epoch_end(TrainingState& state) override {
    if (batch < 0 && state.epoch == epoch) state.should_stop = true;
  }
};

}  // namespace autotimm::testing
