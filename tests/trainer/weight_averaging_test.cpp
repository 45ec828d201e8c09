// Weight averaging callbacks through real fits: EMA is the decayed average of the weights after each optimizer step
// (with timm's warm-up), SWA the equal average of the epoch-end weights; validation and checkpoints use the
// average, the raw weights travel beside it, and a resumed run ends where an uninterrupted one does.
#include <gtest/gtest.h>

#include <cmath>

#include "autotimm/registry.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/trainer/checkpoint.hpp"
#include "autotimm/trainer/weight_averaging.hpp"
#include "support/error_text.hpp"
#include "trainer_fixtures.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using namespace testing;

using Weights = std::map<std::string, torch::Tensor>;

Weights snapshot(const torch::nn::Module& model) {
  Weights out;
  for (const auto& [key, tensor] : state_dict(model)) out[key] = tensor.detach().clone();
  return out;
}

/// The model's weights at fit start, after every optimizer step and at every epoch end. Placed before the averaging
/// callback, it sees each step's weights first.
struct WeightRecorder : Callback {
  Weights initial;
  std::vector<Weights> steps, epoch_ends;
  std::int64_t last_step = 0;
  void on_fit_start(TrainingState& state) override {
    initial = snapshot(state.trainer->model());
    last_step = state.global_step;
  }
  void on_train_batch_end(TrainingState& state) override {
    if (state.global_step == last_step) return;
    last_step = state.global_step;
    steps.push_back(snapshot(state.trainer->model()));
  }
  void on_train_epoch_end(TrainingState& state) override { epoch_ends.push_back(snapshot(state.trainer->model())); }
};

void expect_weights_near(const Weights& got, const Weights& want, double tolerance, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (const auto& [key, tensor] : want) {
    ASSERT_TRUE(got.contains(key)) << what << ": " << key;
    EXPECT_TRUE(torch::allclose(got.at(key).to(torch::kFloat64), tensor.to(torch::kFloat64), tolerance, tolerance))
        << what << ": " << key;
  }
}

AutoTrainerOptions averaging_trainer(const fs::path& root, std::int64_t epochs,
                                     std::vector<std::shared_ptr<Callback>> callbacks) {
  auto o = quiet_trainer(root, epochs);
  o.limit_train_batches = 3;
  o.num_sanity_val_steps = 0;
  o.deterministic = true;
  o.callbacks = std::move(callbacks);
  return o;
}

TEST(WeightAveraging, EmaIsTheDecayedAverageOfTheWeightsAfterEachStep) {
  TempDir root;
  auto recorder = std::make_shared<WeightRecorder>();
  auto ema = std::make_shared<WeightAveraging>(WeightAveragingOptions{.kind = "ema", .decay = 0.8, .warmup = false});
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  AutoTrainer trainer(averaging_trainer(root.path(), 2, {recorder, ema}));
  trainer.fit(model, data);
  ASSERT_EQ(recorder->steps.size(), 6u);
  EXPECT_EQ(ema->num_updates(), 6);

  Weights expected = recorder->initial;
  for (const auto& step : recorder->steps) {
    for (auto& [key, avg] : expected) {
      avg = avg.is_floating_point() ? 0.8 * avg + 0.2 * step.at(key) : step.at(key).clone();
    }
  }
  expect_weights_near(ema->average(), expected, 1e-6, "the average");
  expect_weights_near(snapshot(model), expected, 1e-6, "the model after fit holds the average");
  const auto checkpoint = read_checkpoint(trainer.last_model_path());
  expect_weights_near(checkpoint.with_prefix("model."), expected, 1e-6, "the checkpoint's model weights");
  expect_weights_near(checkpoint.with_prefix("callbacks.EMA.raw."), recorder->steps.back(), 0.0,
                      "the raw training weights beside them");
  // And the average is not the last weights: the test would pass for a no-op otherwise.
  double apart = 0;
  for (const auto& [key, tensor] : expected) {
    if (tensor.is_floating_point()) apart = std::max(apart, (tensor - recorder->steps.back().at(key)).abs().max().item<double>());
  }
  EXPECT_GT(apart, 1e-4);
}

TEST(WeightAveraging, ValidationRunsOnTheAverage) {
  TempDir root;
  auto ema = std::make_shared<WeightAveraging>(WeightAveragingOptions{.kind = "ema", .decay = 0.7});
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  AutoTrainer trainer(averaging_trainer(root.path(), 1, {ema}));
  trainer.fit(model, data);
  const double logged = trainer.logged_metrics().at("val/loss");
  // After fit the model holds the average: validating it again gives what fit logged.
  const auto again = trainer.validate(model, data);
  EXPECT_NEAR(again.at("val/loss"), logged, 1e-5);
}

TEST(WeightAveraging, EmaWarmUpFollowsTimm) {
  WeightAveraging ema(WeightAveragingOptions{.kind = "ema", .decay = 0.999});
  EXPECT_DOUBLE_EQ(ema.current_decay(), 0.0);  // the first update copies the weights
  WeightAveraging flat(WeightAveragingOptions{.kind = "ema", .decay = 0.999, .warmup = false});
  EXPECT_DOUBLE_EQ(flat.current_decay(), 0.999);
}

TEST(WeightAveraging, AResumedRunEndsWhereAnUninterruptedOneDoes) {
  const auto make_ema = [] {
    return std::make_shared<WeightAveraging>(WeightAveragingOptions{.kind = "ema", .decay = 0.6});
  };
  TempDir full_root;
  Weights full;
  {
    ImageClassifier model(tiny_classifier_options());
    ImageDataModule data(color_data_options());
    AutoTrainer trainer(averaging_trainer(full_root.path(), 2, {make_ema()}));
    trainer.fit(model, data);
    full = snapshot(model);
  }
  TempDir root;
  {
    ImageClassifier model(tiny_classifier_options());
    ImageDataModule data(color_data_options());
    AutoTrainer trainer(averaging_trainer(root.path(), 2, {make_ema(), std::make_shared<StopAt>(0, -1)}));
    trainer.fit(model, data);
  }
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  AutoTrainer trainer(averaging_trainer(root.path(), 2, {make_ema()}));
  trainer.fit(model, data, root.path() / "logs" / "version_0" / "checkpoints" / "last.ckpt");
  expect_weights_near(snapshot(model), full, 1e-6, "resumed");
}

TEST(WeightAveraging, SwaIsTheEqualAverageOfTheEpochEndsFromItsStartEpoch) {
  TempDir root;
  auto recorder = std::make_shared<WeightRecorder>();
  auto swa = std::make_shared<WeightAveraging>(
      WeightAveragingOptions{.kind = "swa", .swa_epoch_start = 1, .update_bn = false});
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  AutoTrainer trainer(averaging_trainer(root.path(), 3, {recorder, swa}));
  trainer.fit(model, data);
  ASSERT_EQ(recorder->epoch_ends.size(), 3u);
  EXPECT_EQ(swa->num_updates(), 2);
  Weights expected;
  for (const auto& [key, tensor] : recorder->epoch_ends[1]) {
    expected[key] = tensor.is_floating_point() ? (tensor + recorder->epoch_ends[2].at(key)) / 2
                                               : recorder->epoch_ends[2].at(key);
  }
  expect_weights_near(snapshot(model), expected, 1e-6, "the model after fit");
}

/// The learning rate of every training batch, by epoch.
struct LrRecorder : Callback {
  std::vector<std::vector<double>> by_epoch;
  void on_train_epoch_start(TrainingState& state) override { by_epoch.emplace_back(); }
  void on_train_batch_end(TrainingState& state) override {
    by_epoch.back().push_back(state.trainer->learning_rates().front());
  }
};

TEST(WeightAveraging, SwaLrAnnealsFromTheRateAtItsStartAndSuspendsTheTasksScheduler) {
  TempDir root;
  auto options = tiny_classifier_options();
  options.lr = 0.1;
  options.scheduler = "cosine";  // per step: it would move the rate within every epoch
  auto recorder = std::make_shared<LrRecorder>();
  auto swa = std::make_shared<WeightAveraging>(WeightAveragingOptions{
      .kind = "swa", .swa_epoch_start = 1, .swa_lr = 0.01, .annealing_epochs = 2, .annealing_strategy = "linear",
      .update_bn = false});
  ImageClassifier model(options);
  ImageDataModule data(color_data_options());
  AutoTrainer trainer(averaging_trainer(root.path(), 4, {swa, recorder}));
  trainer.fit(model, data);
  ASSERT_EQ(recorder->by_epoch.size(), 4u);
  EXPECT_NE(recorder->by_epoch[0].front(), recorder->by_epoch[0].back()) << "the task's cosine schedule ran in epoch 0";
  const double start = recorder->by_epoch[1].front();
  for (const double lr : recorder->by_epoch[1]) EXPECT_DOUBLE_EQ(lr, start) << "suspended from the first SWA epoch";
  for (const double lr : recorder->by_epoch[2]) EXPECT_NEAR(lr, (start + 0.01) / 2, 1e-12) << "half way";
  for (const double lr : recorder->by_epoch[3]) EXPECT_NEAR(lr, 0.01, 1e-12) << "then swa_lr";
}

/// The num_batches_tracked of every BatchNorm of `model`.
std::vector<std::int64_t> batches_tracked(const torch::nn::Module& model) {
  std::vector<std::int64_t> out;
  for (const auto& [key, tensor] : state_dict(model)) {
    if (key.ends_with("num_batches_tracked")) out.push_back(tensor.item<std::int64_t>());
  }
  return out;
}

TEST(WeightAveraging, SwaRecomputesBatchNormStatisticsForTheAverage) {
  for (const bool update : {true, false}) {
    SCOPED_TRACE(update ? "update_bn" : "no update_bn");
    TempDir root;
    auto swa = std::make_shared<WeightAveraging>(
        WeightAveragingOptions{.kind = "swa", .swa_epoch_start = 1, .update_bn = update});
    ImageClassifier model(tiny_classifier_options());
    ImageDataModule data(color_data_options());
    AutoTrainer trainer(averaging_trainer(root.path(), 3, {swa}));
    trainer.fit(model, data);
    const auto tracked = batches_tracked(model);
    ASSERT_FALSE(tracked.empty());
    // One pass over the 36 training images in batches of 8 from reset statistics, or the 9 training steps' count.
    for (const auto n : tracked) EXPECT_EQ(n, update ? 5 : 9);
    const auto saved = read_checkpoint(trainer.last_model_path()).with_prefix("model.");
    for (const auto& [key, tensor] : state_dict(model)) {
      EXPECT_TRUE(torch::equal(saved.at(key), tensor)) << key << ": last.ckpt holds what the model holds";
    }
  }
}

TEST(WeightAveraging, ConfigNamesAndBadOptions) {
  auto config = Config::parse(R"({"decay": 0.99, "warmup": false})", "ema");
  auto callback = registry().callbacks().get("ema").factory(config);
  config.expect_all_used();
  const auto* ema = dynamic_cast<WeightAveraging*>(callback.get());
  ASSERT_NE(ema, nullptr);
  EXPECT_DOUBLE_EQ(ema->options().decay, 0.99);
  EXPECT_FALSE(ema->options().warmup);
  EXPECT_EQ(error_text([] { WeightAveraging(WeightAveragingOptions{.decay = 1.0}); }),
            "WeightAveraging (ema): decay must be in (0, 1), got 1.000000");
  EXPECT_EQ(error_text([] { WeightAveraging(WeightAveragingOptions{.kind = "mean"}); }),
            "WeightAveraging (mean): kind must be ema or swa");
  auto swa_config = Config::parse(R"({"swa_epoch_start": 2, "swa_lr": 0.05, "annealing_epochs": 3,
                                      "annealing_strategy": "linear", "update_bn": false})", "swa");
  auto swa_callback = registry().callbacks().get("swa").factory(swa_config);
  swa_config.expect_all_used();
  const auto& o = dynamic_cast<WeightAveraging&>(*swa_callback).options();
  EXPECT_EQ(o.swa_lr, 0.05);
  EXPECT_EQ(o.annealing_epochs, 3);
  EXPECT_FALSE(o.update_bn);
  EXPECT_EQ(error_text([] { WeightAveraging(WeightAveragingOptions{.kind = "swa", .annealing_strategy = "step"}); }),
            "WeightAveraging (swa): annealing_strategy must be cos or linear, got 'step'");
}

}  // namespace
}  // namespace autotimm
