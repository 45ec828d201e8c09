// The learning-rate range test: a suggestion inside the swept range, weights and buffers put back, an early stop when
// the loss diverges, the plot, and the suggestion rule on hand-made curves.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "autotimm/data/decode.hpp"
#include "autotimm/error.hpp"
#include "autotimm/tuner/lr_finder.hpp"
#include "support/error_text.hpp"
#include "trainer_fixtures.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::color_data_options;
using testing::quiet_trainer;
using testing::TempDir;
using testing::tiny_classifier_options;

std::vector<torch::Tensor> snapshot(torch::nn::Module& module) {
  std::vector<torch::Tensor> out;
  for (const auto& p : module.parameters()) out.push_back(p.detach().clone());
  for (const auto& b : module.buffers()) out.push_back(b.detach().clone());
  return out;
}

TEST(LrFinder, SuggestsARateInRangeAndLeavesTheModelAsItWas) {
  TempDir root;
  auto options = tiny_classifier_options();
  options.num_classes = 3;
  ImageClassifier model(options);
  ImageDataModule data(color_data_options());
  AutoTrainer trainer(quiet_trainer(root.path(), 1));
  const auto before = snapshot(model);
  const auto found = trainer.lr_find(model, data, {.min_lr = 1e-5, .max_lr = 1.0, .num_training = 30,
                                                   .plot_path = root / "lr_find.png"});
  ASSERT_GE(found.lrs.size(), 13u);
  EXPECT_DOUBLE_EQ(found.lrs.front(), 1e-5);
  for (std::size_t i = 1; i < found.lrs.size(); ++i) EXPECT_GT(found.lrs[i], found.lrs[i - 1]);
  ASSERT_TRUE(found.suggestion.has_value());
  EXPECT_GE(*found.suggestion, 1e-5);
  EXPECT_LE(*found.suggestion, 1.0);
  const auto after = snapshot(model);
  ASSERT_EQ(before.size(), after.size());
  for (std::size_t i = 0; i < before.size(); ++i) ASSERT_TRUE(torch::equal(before[i], after[i])) << "tensor " << i;
  const auto plot = decode_image(root / "lr_find.png");
  EXPECT_EQ(plot.width, 640);
  EXPECT_EQ(plot.height, 400);
  EXPECT_FALSE(fs::exists(root / "logs")) << "the range test leaves no run folder";
  // The model still trains normally afterwards.
  trainer.fit(model, data);
  EXPECT_GT(trainer.state().global_step, 0);
}

TEST(LrFinder, StopsEarlyWhenTheLossDiverges) {
  TempDir root;
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  AutoTrainer trainer(quiet_trainer(root.path(), 1));
  const auto found = trainer.lr_find(model, data, {.min_lr = 1e-3, .max_lr = 1e6, .num_training = 60});
  EXPECT_TRUE(found.stopped_early);
  EXPECT_LT(found.lrs.size(), 60u);
}

TEST(LrFinder, SuggestionIsTheSteepestDescentAfterTheFirstTenSteps) {
  std::vector<double> lrs, losses;
  for (int i = 0; i < 30; ++i) {
    lrs.push_back(std::pow(10.0, -6 + i * 0.2));
    losses.push_back(i < 5 ? 5.0 : i < 20 ? 2.0 : 1.0);  // drops of 3 at step 5 and of 1 at step 20
  }
  // Steps 0..9 are left out although 4→5 drops most; the drop at 19→20 is found.
  const auto suggestion = suggest_lr(lrs, losses);
  ASSERT_TRUE(suggestion.has_value());
  EXPECT_TRUE(*suggestion == lrs[19] || *suggestion == lrs[20]) << *suggestion;
  EXPECT_FALSE(suggest_lr({1, 2, 3}, {3, 2, 1}).has_value()) << "too short to judge";
}

TEST(LrFinder, RefusesBadRanges) {
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  AutoTrainer trainer(quiet_trainer(".", 1));
  EXPECT_NE(testing::error_text([&] { trainer.lr_find(model, data, {.min_lr = 1.0, .max_lr = 0.1}); })
                .find("expected 0 < min_lr < max_lr"),
            std::string::npos);
  EXPECT_THROW(trainer.lr_find(model, data, {.mode = "cosine"}), ConfigError);
  EXPECT_THROW(trainer.lr_find(model, data, {.num_training = 0}), ConfigError);
}

}  // namespace
}  // namespace autotimm
