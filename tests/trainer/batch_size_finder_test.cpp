// The batch-size finder: the power and binsearch searches against known capacities, then real trial runs on the
// colour data (the memory budget deciding), and the tuner config running both finders before fit.
#include <gtest/gtest.h>

#include "autotimm/trainer/auto_trainer.hpp"
#include "autotimm/tuner/batch_size_finder.hpp"
#include "support/error_text.hpp"
#include "trainer_fixtures.hpp"

namespace autotimm {
namespace {

using namespace testing;

/// The sizes tried when everything up to `capacity` fits.
std::pair<std::int64_t, std::vector<std::int64_t>> search(BatchSizeFinderOptions options, std::int64_t capacity,
                                                          std::int64_t dataset = 1000) {
  const auto result = search_batch_size(options, dataset, [&](std::int64_t size) {
    return BatchSizeTrial{.fits = size <= capacity, .reason = size <= capacity ? "" : "too big"};
  });
  std::vector<std::int64_t> sizes;
  for (const auto& trial : result.trials) sizes.push_back(trial.batch_size);
  return {result.batch_size, sizes};
}

TEST(BatchSizeSearch, PowerDoublesUntilAFailure) {
  const auto [found, tried] = search({.mode = "power", .init_val = 2}, 40);
  EXPECT_EQ(found, 32);
  EXPECT_EQ(tried, (std::vector<std::int64_t>{2, 4, 8, 16, 32, 64}));
}

TEST(BatchSizeSearch, BinsearchBisectsBetweenTheLastSuccessAndTheFailure) {
  const auto [found, tried] = search({.mode = "binsearch", .init_val = 2}, 40);
  EXPECT_EQ(found, 40);
  EXPECT_EQ(tried, (std::vector<std::int64_t>{2, 4, 8, 16, 32, 64, 48, 40, 44, 42, 41}));
}

TEST(BatchSizeSearch, AnInitialSizeTooLargeIsHalvedUntilOneFits) {
  EXPECT_EQ(search({.mode = "power", .init_val = 16}, 5), (std::pair<std::int64_t, std::vector<std::int64_t>>{
                                                              4, {16, 8, 4}}));
  EXPECT_EQ(search({.mode = "binsearch", .init_val = 16}, 5).first, 5);
  EXPECT_EQ(search({.mode = "power", .init_val = 2}, 0), (std::pair<std::int64_t, std::vector<std::int64_t>>{
                                                              0, {2, 1}}));
}

TEST(BatchSizeSearch, StopsAtTheDatasetSizeAndAtMaxTrials) {
  EXPECT_EQ(search({.init_val = 2}, 1000, 20), (std::pair<std::int64_t, std::vector<std::int64_t>>{
                                                   20, {2, 4, 8, 16, 20}}));
  EXPECT_EQ(search({.init_val = 2, .max_trials = 3}, 1000).first, 8);
  EXPECT_EQ(error_text([] { search({.mode = "linear"}, 4); }),
            "scale_batch_size: 'mode' must be power or binsearch, got 'linear'");
}

TEST(BatchSizeSearch, MemoryReadingsAreThisProcesss) {
  EXPECT_GT(available_memory_bytes(), 1ll << 26);
  reset_peak_memory();
  const auto before = peak_memory_bytes();
  std::vector<char> block(64 << 20, 1);  // 64 MB touched
  EXPECT_GE(peak_memory_bytes(), before + (60 << 20)) << static_cast<int>(block[12345]);
}

TEST(ScaleBatchSize, GrowsToTheTrainingSetWhenMemoryAllowsAndLeavesTheWeights) {
  TempDir root;
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  AutoTrainer trainer(quiet_trainer(root.path(), 1));
  data.setup();
  model.attach_data(data);
  std::vector<torch::Tensor> before;
  for (const auto& p : model.parameters()) before.push_back(p.detach().clone());
  const auto found = trainer.scale_batch_size(model, data, {.init_val = 8, .steps_per_trial = 2});
  EXPECT_EQ(found.batch_size, 36) << "36 training images: a batch of all of them fits in 80% of the RAM";
  EXPECT_EQ(data.batch_size(), 36);
  ASSERT_EQ(found.trials.size(), 4u);  // 8, 16, 32, then the 36 images of the training set
  for (const auto& trial : found.trials) EXPECT_GT(trial.peak_bytes, 0);
  std::size_t i = 0;
  for (const auto& p : model.parameters()) EXPECT_TRUE(torch::equal(p, before[i++])) << "parameter " << i;
}

TEST(ScaleBatchSize, NothingFitsInATinyBudgetAndTheDataKeepsItsBatchSize) {
  TempDir root;
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  AutoTrainer trainer(quiet_trainer(root.path(), 1));
  const auto message = error_text([&] { trainer.scale_batch_size(model, data, {.init_val = 4, .max_memory_bytes = 1}); });
  EXPECT_NE(message.find("scale_batch_size: no batch size fits, not even 1 (peak memory"), std::string::npos) << message;
  EXPECT_EQ(data.batch_size(), 8);
  EXPECT_NE(error_text([] {
              ImageClassifier m(tiny_classifier_options());
              ImageDataModule d(color_data_options());
              AutoTrainer({.devices = 2}).scale_batch_size(m, d);
            }).find("scale_batch_size runs in one process"),
            std::string::npos);
}

TEST(TunerConfig, FitFindsTheBatchSizeAndTheLearningRateFirst) {
  TempDir root;
  auto config = Config::parse(R"({"max_epochs": 1, "enable_progress_bar": false, "enable_model_summary": false,
      "tuner_config": {"auto_lr": true, "auto_batch_size": true,
                       "lr_find": {"num_training": 20, "min_lr": 1e-5, "max_lr": 1.0},
                       "batch_size": {"init_val": 16, "steps_per_trial": 1}}})", "run.json");
  auto options = AutoTrainerOptions::from(config);
  config.expect_all_used();
  options.default_root_dir = root.path();
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  const double lr_before = model.learning_rate();
  AutoTrainer trainer(options);
  trainer.fit(model, data);
  EXPECT_EQ(data.batch_size(), 36);
  EXPECT_NE(model.learning_rate(), lr_before);
  EXPECT_GT(model.learning_rate(), 1e-5);
  EXPECT_LT(model.learning_rate(), 1.0);
  // The checkpoint remembers the learning rate the run trained with.
  const auto saved = ImageClassifier::load_from_checkpoint(trainer.last_model_path());
  EXPECT_DOUBLE_EQ(saved->learning_rate(), model.learning_rate());
}

}  // namespace
}  // namespace autotimm
