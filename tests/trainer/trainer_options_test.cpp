// The trainer options not covered by the learning and resume tests: min_epochs against early stopping, validation
// every n epochs, loggers named in a config, multi-label fits, and the refusals.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/autocast_mode.h>

#include <boost/json.hpp>
#include <fstream>
#include <limits>
#include <sstream>

#include "autotimm/error.hpp"
#include "autotimm/trainer/callbacks.hpp"
#include "autotimm/trainer/checkpoint.hpp"
#include "autotimm/trainer/grad_scaler.hpp"
#include "support/error_text.hpp"
#include "trainer_fixtures.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::color_data_options;
using testing::error_text;
using testing::quiet_trainer;
using testing::read_text;
using testing::TempDir;
using testing::tiny_classifier_options;

/// Rows of metrics.csv that have a value in `column`.
int rows_with(const fs::path& csv, const std::string& column) {
  std::istringstream lines(read_text(csv));
  std::string header, line;
  std::getline(lines, header);
  std::vector<std::string> names;
  for (std::stringstream cells(header); std::getline(cells, line, ',');) names.push_back(line);
  const auto at = std::find(names.begin(), names.end(), column) - names.begin();
  int count = 0;
  while (std::getline(lines, line)) {
    std::vector<std::string> cells;
    std::string cell;
    for (std::stringstream row(line); std::getline(row, cell, ',');) cells.push_back(cell);
    if (static_cast<std::size_t>(at) < cells.size() && !cells[static_cast<std::size_t>(at)].empty()) ++count;
  }
  return count;
}

TEST(AutoTrainerOptionsInUse, MinEpochsOutlastEarlyStopping) {
  TempDir root;
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  auto o = quiet_trainer(root.path(), 5);
  o.min_epochs = 3;
  o.limit_train_batches = 2;
  o.callbacks = {std::make_shared<EarlyStopping>(EarlyStoppingOptions{.patience = 1, .min_delta = 100.0})};
  AutoTrainer trainer(o);
  trainer.fit(model, data);
  // Early stopping asks after epoch 1; min_epochs keeps the run going through epoch 2, where it asks again.
  EXPECT_EQ(trainer.state().epoch, 2);
}

TEST(AutoTrainerOptionsInUse, ValidationEveryNEpochsAndConfiguredLoggers) {
  TempDir root;
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  auto config = Config::parse(R"({"max_epochs": 3, "check_val_every_n_epoch": 2, "limit_train_batches": 2,
                                  "enable_progress_bar": false, "enable_model_summary": false,
                                  "loggers": [{"backend": "csv", "params": {"flush_logs_every_n_steps": 1}}]})");
  auto o = AutoTrainerOptions::from(config);
  config.expect_all_used();
  o.default_root_dir = root.path();
  AutoTrainer trainer(o);
  trainer.fit(model, data);
  const auto run = root.path() / "logs" / "version_0";
  EXPECT_EQ(rows_with(run / "metrics.csv", "val/loss"), 1) << "epochs 0 and 2 skip validation";
  EXPECT_EQ(rows_with(run / "metrics.csv", "train/loss_epoch"), 3);
  // Epochs without validation still write last.ckpt; the best is from epoch 1, the only validated one.
  EXPECT_TRUE(trainer.best_model_path().filename().string().starts_with("best-epoch=1-"));
  EXPECT_TRUE(fs::exists(run / "checkpoints" / "last.ckpt"));
  EXPECT_EQ(read_checkpoint(run / "checkpoints" / "last.ckpt").meta.at("epoch").as_int64(), 2);
}

/// The values of `column` in metrics.csv, row by row (rows without one skipped).
std::vector<double> column_of(const fs::path& csv, const std::string& column) {
  std::istringstream lines(read_text(csv));
  std::string header, line, cell;
  std::getline(lines, header);
  std::vector<std::string> names;
  for (std::stringstream cells(header); std::getline(cells, cell, ',');) names.push_back(cell);
  const auto at = static_cast<std::size_t>(std::find(names.begin(), names.end(), column) - names.begin());
  std::vector<double> out;
  while (std::getline(lines, line)) {
    std::vector<std::string> cells;
    for (std::stringstream row(line); std::getline(row, cell, ',');) cells.push_back(cell);
    if (at < cells.size() && !cells[at].empty()) out.push_back(std::stod(cells[at]));
  }
  return out;
}

TEST(AutoTrainerOptionsInUse, Bf16MixedTrainsUnderAutocastWithFp32Weights) {
  ImageDataModule data(color_data_options());
  auto fit = [&](const std::string& precision, const fs::path& root) {
    torch::manual_seed(7);
    auto model = std::make_shared<ImageClassifier>(tiny_classifier_options());
    auto o = quiet_trainer(root, 3);
    o.precision = precision;
    o.seed = 7;
    o.log_every_n_steps = 1;
    AutoTrainer trainer(o);
    trainer.fit(*model, data);
    auto test = trainer.test(*model, data);
    auto predicted = trainer.predict(*model, data.val_loader());
    return std::tuple{model, column_of(trainer.log_dir() / "metrics.csv", "train/loss"), test, predicted};
  };
  TempDir fp32_root, bf16_root;
  const auto [fp32_model, fp32_losses, fp32_test, fp32_predicted] = fit("32", fp32_root.path());
  const auto [bf16_model, bf16_losses, bf16_test, bf16_predicted] = fit("bf16-mixed", bf16_root.path());
  ASSERT_EQ(bf16_losses.size(), fp32_losses.size());
  ASSERT_GE(bf16_losses.size(), 3u);
  // Same seed, same data: only the bfloat16 arithmetic differs, so the first losses differ a little, never a lot.
  EXPECT_NE(bf16_losses.front(), fp32_losses.front()) << "the forward ran in bfloat16";
  EXPECT_NEAR(bf16_losses.front(), fp32_losses.front(), 0.05 * fp32_losses.front());
  EXPECT_LT(bf16_losses.back(), bf16_losses.front()) << "and it learns";
  EXPECT_GE(bf16_test.at("test/accuracy"), 0.99);
  for (const auto& p : bf16_model->parameters()) ASSERT_EQ(p.scalar_type(), torch::kFloat32) << "fp32 master weights";
  EXPECT_EQ(bf16_predicted.at("probabilities").scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(bf16_predicted.at("probabilities"), fp32_predicted.at("probabilities"), 0.05, 0.05));
  EXPECT_FALSE(at::autocast::is_cpu_enabled()) << "autocast is off again outside the steps";
}

TEST(AutoTrainerOptionsInUse, Bf16TrueKeepsWeightsAndCheckpointsInBfloat16) {
  TempDir root;
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  auto o = quiet_trainer(root.path(), 3);
  o.precision = "bf16-true";
  AutoTrainer trainer(o);
  trainer.fit(model, data);
  for (const auto& p : model.parameters()) ASSERT_EQ(p.scalar_type(), torch::kBFloat16) << "weights in bfloat16";
  EXPECT_GE(trainer.test(model, data, "last").at("test/accuracy"), 0.9) << "and it learns";
  const auto checkpoint = read_checkpoint(trainer.last_model_path());
  for (const auto& [key, tensor] : checkpoint.with_prefix("model.")) {
    if (tensor.is_floating_point()) {
      EXPECT_EQ(tensor.scalar_type(), torch::kBFloat16) << key;
    }
  }
  // A float32 model loads the checkpoint (converted) and predicts what the trained one does.
  const auto reloaded = ImageClassifier::load_from_checkpoint(trainer.last_model_path());
  for (const auto& p : reloaded->parameters()) ASSERT_EQ(p.scalar_type(), torch::kFloat32);
  const auto ours = trainer.predict(model, data.val_loader());
  EXPECT_EQ(ours.at("probabilities").scalar_type(), torch::kFloat32);
  AutoTrainer plain(quiet_trainer(root.path(), 1));
  const auto theirs = plain.predict(*reloaded, data.val_loader());
  EXPECT_TRUE(torch::equal(ours.at("labels"), theirs.at("labels")));
}

TEST(AutoTrainerOptionsInUse, SixteenMixedAsksForCudaOnTheCpu) {
  TempDir root;
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  auto o = quiet_trainer(root.path(), 1);
  o.precision = "16-mixed";
  o.accelerator = "cpu";
  AutoTrainer trainer(o);
  EXPECT_EQ(testing::error_text([&] { trainer.fit(model, data); }),
            "AutoTrainer: precision '16-mixed' (float16 autocast with dynamic loss scaling) runs on CUDA, and this run "
            "is on the CPU; use bf16-mixed, which needs no loss scaling and runs fast on CPUs with AVX-512 BF16");
}

TEST(GradScaler, UnscalesSkipsOverflowsBacksOffAndGrows) {
  GradScaler scaler({.init_scale = 1024.0, .growth_interval = 2});
  auto w = torch::ones({3}, torch::requires_grad());
  scaler.scale((w * torch::tensor({1.f, 2.f, 3.f})).sum()).backward();
  EXPECT_TRUE(torch::equal(w.grad(), torch::tensor({1024.f, 2048.f, 3072.f})));
  EXPECT_TRUE(scaler.unscale({w}));
  EXPECT_TRUE(torch::equal(w.grad(), torch::tensor({1.f, 2.f, 3.f})));
  scaler.update(false);
  EXPECT_EQ(scaler.growth_tracker(), 1);
  scaler.update(false);  // the second clean step in a row: the scale grows
  EXPECT_DOUBLE_EQ(scaler.scale_value(), 2048.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);
  // An overflow: reported, and the scale backs off.
  w.mutable_grad() = torch::tensor({1.f, std::numeric_limits<float>::infinity(), 0.f});
  EXPECT_FALSE(scaler.unscale({w}));
  scaler.update(true);
  EXPECT_DOUBLE_EQ(scaler.scale_value(), 1024.0);
  GradScaler restored;
  restored.load_state(scaler.state());
  EXPECT_DOUBLE_EQ(restored.scale_value(), 1024.0);
  EXPECT_NE(testing::error_text([] { GradScaler({.backoff_factor = 1.5}); }).find("backoff_factor"), std::string::npos);
}

TEST(AutoTrainerOptionsInUse, ChannelsLastTrainsAndWritesPlainCheckpoints) {
  TempDir root;
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  auto config = Config::parse(R"({"channels_last": true})");
  auto o = AutoTrainerOptions::from(config);
  config.expect_all_used();
  ASSERT_TRUE(o.channels_last);
  o.max_epochs = 3;
  o.default_root_dir = root.path();
  o.enable_progress_bar = false;
  o.enable_model_summary = false;
  AutoTrainer trainer(o);
  trainer.fit(model, data);
  int convolutions = 0;
  for (const auto& p : model.parameters()) {
    if (p.dim() != 4) continue;
    ++convolutions;
    EXPECT_TRUE(p.is_contiguous(at::MemoryFormat::ChannelsLast));
  }
  EXPECT_GT(convolutions, 0);
  EXPECT_GE(trainer.test(model, data, "last").at("test/accuracy"), 0.99);
  // The checkpoint holds the same values in the plain layout: a model loaded from it matches.
  const auto reloaded = ImageClassifier::load_from_checkpoint(trainer.last_model_path());
  const auto trained = model.parameters();
  const auto loaded = reloaded->parameters();
  ASSERT_EQ(trained.size(), loaded.size());
  for (std::size_t i = 0; i < trained.size(); ++i) {
    EXPECT_TRUE(loaded[i].is_contiguous()) << i;
    ASSERT_TRUE(torch::equal(trained[i].contiguous(), loaded[i])) << "parameter " << i;
  }
}

/// A logger with no folder of its own that names its run, as an MLflow server's logger does.
class NamedRunLogger : public Logger {
 public:
  NamedRunLogger(std::string name, std::string version) : name_(std::move(name)), version_(std::move(version)) {}
  void log_hyperparams(const boost::json::object&) override {}
  void log_metrics(const std::map<std::string, double>&, std::int64_t) override { ++rows; }
  void log_image(std::string_view, const at::Tensor&, std::int64_t) override {}
  void log_histogram(std::string_view, const at::Tensor&, std::int64_t) override {}
  void log_text(std::string_view, std::string_view, std::int64_t) override {}
  void save() override {}
  void finalize(RunStatus) override {}
  std::string name() const override { return name_; }
  std::string version() const override { return version_; }
  int rows = 0;

 private:
  std::string name_, version_;
};

TEST(AutoTrainerOptionsInUse, CheckpointsGoUnderTheFirstLoggersRunFolder) {
  ImageDataModule data(color_data_options());
  auto fit_with = [&](const fs::path& root, AutoTrainerOptions o) {
    ImageClassifier model(tiny_classifier_options());
    o.default_root_dir = root;
    o.limit_train_batches = 1;
    o.limit_val_batches = 1;
    AutoTrainer trainer(o);
    trainer.fit(model, data);
    return trainer.log_dir();
  };
  {
    TempDir root;  // configured loggers: save_dir defaults to default_root_dir, the first one's folder wins
    auto o = quiet_trainer(root.path(), 1);
    o.logger_configs = boost::json::parse(R"([{"backend": "csv", "params": {"name": "exp", "version": "v1"}},
                                             {"backend": "csv", "params": {"name": "second"}}])").as_array();
    const fs::path dir = fit_with(root.path(), o);
    EXPECT_EQ(dir, root.path() / "exp" / "v1");
    EXPECT_TRUE(fs::exists(dir / "checkpoints" / "last.ckpt"));
    EXPECT_TRUE(fs::exists(dir / "metrics.csv"));
    EXPECT_TRUE(fs::exists(root.path() / "second" / "version_0" / "metrics.csv"));
    EXPECT_FALSE(fs::exists(root.path() / "logs")) << "no default logger when loggers are named";
  }
  {
    TempDir root;  // a first logger without a folder: <root>/<name>/<version>
    auto named = std::make_shared<NamedRunLogger>("experiment", "run-42");
    auto o = quiet_trainer(root.path(), 1);
    o.loggers = {named};
    EXPECT_EQ(fit_with(root.path(), o), root.path() / "experiment" / "run-42");
    EXPECT_TRUE(fs::exists(root.path() / "experiment" / "run-42" / "checkpoints" / "last.ckpt"));
    EXPECT_GT(named->rows, 0);
  }
  {
    TempDir root;  // nothing to go by: the trainer's own next version folder
    auto o = quiet_trainer(root.path(), 1);
    o.loggers = {std::make_shared<NamedRunLogger>("", "")};
    fs::create_directories(root.path() / "logs" / "version_2");
    EXPECT_EQ(fit_with(root.path(), o), root.path() / "logs" / "version_3");
  }
}

TEST(AutoTrainerOptionsInUse, MultiLabelFitLearnsEveryColour) {
  // Images with any mix of strong red, green and blue; one 0/1 column per colour.
  TempDir dir;
  SampleRng rng(21);
  std::ofstream csv(dir / "labels.csv");
  csv << "image,blue,green,red\n";
  for (int i = 0; i < 48; ++i) {
    const int mask = 1 + i % 7;  // every non-empty combination
    Image image(16, 16, 3);
    for (int y = 0; y < 16; ++y) {
      for (int x = 0; x < 16; ++x) {
        for (int c = 0; c < 3; ++c) {
          const bool on = (mask >> (2 - c)) & 1;  // channel 0 is red: bit 2
          image.at(x, y, c) = static_cast<std::uint8_t>((on ? 190 : 50) + rng.uniform(-40, 40));
        }
      }
    }
    const std::string name = std::to_string(i) + ".png";
    write_image(dir / name, image);
    csv << name << "," << (mask & 1) << "," << ((mask >> 1) & 1) << "," << ((mask >> 2) & 1) << "\n";
  }
  csv.close();
  auto options = tiny_classifier_options();
  options.multi_label = true;
  ImageClassifier model(options);
  MultiLabelImageDataModule data({.data_dir = dir.path(), .train_csv = "labels.csv", .image_size = 32,
                                  .train_transforms = "none", .batch_size = 8, .val_split = 0.25});
  TempDir root;
  AutoTrainer trainer(quiet_trainer(root.path(), 5));
  trainer.fit(model, data);
  const auto metrics = trainer.validate(model, data, "best");
  EXPECT_GE(metrics.at("val/map"), 0.95);
  const auto predicted = model.predict(torch::zeros({1, 3, 32, 32}));
  EXPECT_EQ(predicted.labels.sizes(), (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(model.class_names(), (std::vector<std::string>{"blue", "green", "red"}));
}

TEST(AutoTrainerOptionsInUse, LoggerEntriesSpelledEitherWay) {
  const auto long_form = logger_backend_and_params(boost::json::parse(
      R"({"backend": "tensorboard", "params": {"name": "runs", "save_dir": "x"}})"));
  EXPECT_EQ(long_form.first, "tensorboard");
  EXPECT_EQ(long_form.second.at("name").as_string(), "runs");  // the backend's own name option survives
  const auto short_form = logger_backend_and_params(boost::json::parse(R"({"name": "csv", "save_dir": "x"})"));
  EXPECT_EQ(short_form.first, "csv");
  EXPECT_EQ(short_form.second.size(), 1u);
  EXPECT_EQ(error_text([] { logger_backend_and_params(boost::json::parse(R"({"backend": "csv", "save_dir": "x"})")); }),
            "trainer.loggers entry 'csv': unknown key 'save_dir'; options go inside \"params\"");
  EXPECT_NE(error_text([] { logger_backend_and_params(boost::json::parse(R"(["csv"])")); }).find("each entry is"),
            std::string::npos);
}

TEST(AutoTrainerOptionsInUse, Refusals) {
  TempDir root;
  ImageClassifier model(tiny_classifier_options());
  auto no_val = color_data_options();
  no_val.data_dir = root.path() / "data";
  testing::write_color_folder(no_val.data_dir, 4, 0, 0);
  fs::remove_all(no_val.data_dir / "val");  // empty class folders would be an error of their own
  fs::remove_all(no_val.data_dir / "test");
  no_val.val_split = 0.0;
  ImageDataModule data(no_val);
  AutoTrainer trainer(quiet_trainer(root.path(), 1));
  EXPECT_EQ(error_text([&] { trainer.fit(model, data); }),
            "AutoTrainer: checkpoint_monitor is 'val/loss' but the data has no validation batches; add validation "
            "data (val_split, a val set) or set checkpoint_monitor to train/loss_epoch");
  if (!torch::cuda::is_available()) {
    AutoTrainer cuda({.accelerator = "cuda", .default_root_dir = root.path()});
    EXPECT_EQ(error_text([&] { cuda.fit(model, data); }),
              "AutoTrainer: accelerator 'cuda' asked for, but this libtorch sees no CUDA device; use accelerator cpu "
              "or auto");
  }
  EXPECT_EQ(error_text([] { AutoTrainer({.checkpoint_mode = "best"}); }),
            "AutoTrainer: checkpoint_mode: mode must be min or max, got 'best'");
}

}  // namespace
}  // namespace autotimm
