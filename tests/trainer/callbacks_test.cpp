// The built-in callbacks driven directly through their hooks, with a TrainerHandle that records what they ask for.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "autotimm/error.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/trainer/callbacks.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::error_text;
using testing::TempDir;

/// Writes a small file per save_checkpoint, logs into a map.
struct RecordingTrainer : TrainerHandle {
  fs::path dir;
  std::vector<fs::path> saved;
  std::map<std::string, double> logged;
  torch::nn::Linear module{4, 2};
  std::vector<double> lrs = {0.1, 0.01};
  void save_checkpoint(const fs::path& path) override {
    saved.push_back(path);
    fs::create_directories(path.parent_path());
    std::ofstream(path) << "checkpoint " << saved.size();
  }
  fs::path log_dir() const override { return dir; }
  void log_metrics(const std::map<std::string, double>& metrics, std::int64_t) override {
    for (const auto& [k, v] : metrics) logged[k] = v;
  }
  const torch::nn::Module& model() const override { return *module; }
  std::string optimizer_name() const override { return "sgd"; }
  std::vector<double> learning_rates() const override { return lrs; }
};

TrainingState state_with(RecordingTrainer& trainer, std::int64_t epoch, std::map<std::string, double> metrics) {
  TrainingState state;
  state.epoch = epoch;
  state.metrics = std::move(metrics);
  state.trainer = &trainer;
  return state;
}

TEST(ModelCheckpoint, KeepsTheTopKAndLinksLast) {
  TempDir dir;
  RecordingTrainer trainer;
  trainer.dir = dir.path();
  ModelCheckpoint callback({.monitor = "val/loss", .mode = "min", .save_top_k = 2});
  auto state = state_with(trainer, 0, {});
  callback.on_fit_start(state);
  const double losses[] = {0.9, 0.5, 0.7, 0.8, 0.3};
  for (std::int64_t epoch = 0; epoch < 5; ++epoch) {
    state = state_with(trainer, epoch, {{"val/loss", losses[epoch]}});
    callback.on_train_epoch_start(state);
    callback.on_validation_end(state);
    callback.on_train_epoch_end(state);  // validated: no second save
  }
  const fs::path ckpts = dir.path() / "checkpoints";
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(ckpts)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"best-epoch=1-val_loss=0.5000.ckpt", "best-epoch=4-val_loss=0.3000.ckpt",
                                             "last.ckpt"}));
  EXPECT_EQ(callback.best_model_path(), ckpts / "best-epoch=4-val_loss=0.3000.ckpt");
  EXPECT_EQ(callback.best_model_score(), 0.3);
  // epoch 3 (0.8) was not better than the kept two: only last was written, as a fresh file.
  EXPECT_EQ(trainer.saved.size(), 5u);
  // last.ckpt is the newest save: a hard link to epoch 4's best file.
  EXPECT_TRUE(fs::equivalent(ckpts / "last.ckpt", ckpts / "best-epoch=4-val_loss=0.3000.ckpt"));

  // State round trip keeps the ranking.
  ModelCheckpoint restored({.monitor = "val/loss", .mode = "min", .save_top_k = 2});
  restored.load_state_dict(callback.state_dict());
  EXPECT_EQ(restored.best_k_models(), callback.best_k_models());
  EXPECT_EQ(restored.best_model_path(), callback.best_model_path());
}

TEST(ModelCheckpoint, MissingMetricListsWhatWasLogged) {
  TempDir dir;
  RecordingTrainer trainer;
  trainer.dir = dir.path();
  ModelCheckpoint callback({.monitor = "train/accuracy"});
  auto state = state_with(trainer, 0, {{"train/loss_epoch", 0.4}});
  callback.on_fit_start(state);
  callback.on_train_epoch_start(state);
  EXPECT_EQ(error_text([&] { callback.on_train_epoch_end(state); }),
            "ModelCheckpoint: the monitored metric 'train/accuracy' was never logged; logged: train/loss_epoch; set "
            "checkpoint_monitor to one of them");
}

TEST(ModelCheckpoint, EpochsWithoutValidationKeepOnlyLast) {
  TempDir dir;
  RecordingTrainer trainer;
  trainer.dir = dir.path();
  ModelCheckpoint callback(ModelCheckpointOptions{});  // monitors val/loss
  auto state = state_with(trainer, 0, {{"train/loss_epoch", 0.4}, {"val/loss", 0.3}});  // a stale val/loss
  callback.on_fit_start(state);
  callback.on_train_epoch_start(state);
  callback.on_train_epoch_end(state);
  EXPECT_EQ(trainer.saved, (std::vector<fs::path>{dir / "checkpoints" / "last.ckpt"}));
  EXPECT_TRUE(callback.best_model_path().empty());
}

TEST(EarlyStopping, PatienceMinDeltaAndModes) {
  RecordingTrainer trainer;
  EarlyStopping min_mode({.monitor = "val/loss", .patience = 2, .min_delta = 0.05});
  const double values[] = {1.0, 0.97, 0.9, 0.89, 0.88};  // improvements > 0.05 only at 0.9
  std::vector<bool> stops;
  for (double v : values) {
    auto state = state_with(trainer, 0, {{"val/loss", v}});
    min_mode.on_validation_end(state);
    stops.push_back(state.should_stop);
  }
  EXPECT_EQ(stops, (std::vector<bool>{false, false, false, false, true}));
  EXPECT_EQ(min_mode.best_score(), 0.9);

  EarlyStopping max_mode({.monitor = "val/accuracy", .mode = "max", .patience = 1, .stopping_threshold = 0.99});
  auto state = state_with(trainer, 0, {{"val/accuracy", 0.995}});
  max_mode.on_validation_end(state);
  EXPECT_TRUE(state.should_stop);
  EXPECT_EQ(state.stop_reason, "EarlyStopping: val/accuracy = 0.995000 reached the stopping threshold 0.990000");

  EarlyStopping finite(EarlyStoppingOptions{});
  state = state_with(trainer, 0, {{"val/loss", std::numeric_limits<double>::quiet_NaN()}});
  finite.on_validation_end(state);
  EXPECT_TRUE(state.should_stop);

  // Sanity checks and other stages are ignored; state survives a checkpoint.
  EarlyStopping restored({.monitor = "val/loss", .patience = 2, .min_delta = 0.05});
  restored.load_state_dict(min_mode.state_dict());
  EXPECT_EQ(restored.wait_count(), min_mode.wait_count());
  EXPECT_EQ(restored.best_score(), 0.9);
  state = state_with(trainer, 0, {{"val/loss", 5.0}});
  state.sanity_checking = true;
  restored.on_validation_end(state);
  EXPECT_FALSE(state.should_stop);
}

TEST(LearningRateMonitor, LogsEveryGroup) {
  RecordingTrainer trainer;
  LearningRateMonitor monitor(LearningRateMonitorOptions{});
  auto state = state_with(trainer, 0, {});
  monitor.on_train_batch_end(state);
  EXPECT_EQ(trainer.logged, (std::map<std::string, double>{{"lr-sgd", 0.1}, {"lr-sgd/pg1", 0.01}}));
  EXPECT_THROW(LearningRateMonitor({.logging_interval = "batch"}), ConfigError);
}

TEST(Timer, StopsWhenTheBudgetIsSpentAndCarriesTimeAcrossResumes) {
  RecordingTrainer trainer;
  Timer timer({.duration_seconds = 10.0});
  timer.load_state_dict({{"time_elapsed", 9.99}});
  auto state = state_with(trainer, 0, {});
  timer.on_fit_start(state);
  timer.on_train_batch_end(state);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  timer.on_train_batch_end(state);
  EXPECT_TRUE(state.should_stop);
  EXPECT_GE(timer.time_elapsed(), 10.0);
  EXPECT_EQ(state.stop_reason, "Timer: the time budget of 10.000000 s is spent");
}

TEST(ModelSummary, TableAndTotals) {
  torch::nn::Sequential net(torch::nn::Linear(4, 3), torch::nn::ReLU(), torch::nn::Linear(3, 2));
  net[2]->parameters()[0].set_requires_grad(false);  // 6 frozen weights
  const std::string text = model_summary(*net, 1);
  EXPECT_NE(text.find("| 0    | Linear | "), std::string::npos) << text;
  EXPECT_NE(text.find("17 trainable params"), std::string::npos) << text;   // 12 + 3 + 2
  EXPECT_NE(text.find("6 non-trainable params"), std::string::npos) << text;
  EXPECT_NE(text.find("23 total params"), std::string::npos) << text;
}

TEST(BuiltinCallbacks, AreInTheRegistryByName) {
  const auto names = registry().callbacks().list();
  for (const char* name : {"early_stopping", "lr_monitor", "model_checkpoint", "model_summary", "progress_bar", "timer"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  auto config = Config::parse(R"({"monitor": "val/accuracy", "mode": "max", "patience": 5})");
  auto callback = registry().callbacks().get("early_stopping").factory(config);
  config.expect_all_used();
  EXPECT_NE(dynamic_cast<EarlyStopping*>(callback.get()), nullptr);
  EXPECT_TRUE(registry().loggers().contains("csv"));
}

}  // namespace
}  // namespace autotimm
