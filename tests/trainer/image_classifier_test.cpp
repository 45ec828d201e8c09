// ImageClassifier without the trainer: outputs, predict, options JSON, the data checks, freezing, the optimizer it
// configures, and the mixup/cutmix draws.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "autotimm/tasks/mixup.hpp"
#include "support/error_text.hpp"
#include "trainer_fixtures.hpp"

namespace autotimm {
namespace {

using testing::error_text;
using testing::tiny_classifier_options;

TEST(ImageClassifier, ForwardAndPredict) {
  auto options = tiny_classifier_options();
  options.num_classes = 4;
  ImageClassifier model(options);
  const auto images = torch::rand({3, 3, 32, 32});
  EXPECT_EQ(model.forward(images).sizes(), (std::vector<std::int64_t>{3, 4}));
  model.train();
  const auto out = model.predict(images);
  EXPECT_TRUE(model.is_training()) << "predict restores the mode";
  EXPECT_TRUE(torch::allclose(out.probabilities.sum(1), torch::ones({3}), 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(out.labels, out.probabilities.argmax(1)));
  // State-dict keys: the backbone's timm names under backbone., the head under head.
  bool saw_backbone = false, saw_head = false;
  for (const auto& item : model.named_parameters()) {
    saw_backbone |= item.key() == "backbone.conv1.0.weight";
    saw_head |= item.key() == "head.fc.weight";
  }
  EXPECT_TRUE(saw_backbone);
  EXPECT_TRUE(saw_head);
}

TEST(ImageClassifier, HeadTakesTheBackbonesPreLogitsWidth) {
  // MobileNet-V3's own conv_head widens the pooled 288 features to 1024: the task's head must take 1024.
  auto options = tiny_classifier_options();
  options.backbone = "mobilenetv3_small_050";
  options.num_classes = 5;
  ImageClassifier model(options);
  model.eval();
  EXPECT_EQ(model.forward(torch::rand({2, 3, 32, 32})).sizes(), (std::vector<std::int64_t>{2, 5}));
  auto params = model.named_parameters();
  ASSERT_TRUE(params.contains("head.fc.weight"));
  EXPECT_EQ(params["head.fc.weight"].sizes(), (std::vector<std::int64_t>{5, 1024}));
}

TEST(ImageClassifier, MultiLabelThresholdsSigmoids) {
  auto options = tiny_classifier_options();
  options.num_classes = 3;
  options.multi_label = true;
  options.threshold = 0.5;
  ImageClassifier model(options);
  const auto out = model.predict(torch::rand({2, 3, 32, 32}));
  EXPECT_EQ(out.labels.sizes(), (std::vector<std::int64_t>{2, 3}));
  EXPECT_TRUE(torch::equal(out.labels, (out.probabilities > 0.5).to(torch::kLong)));
  EXPECT_EQ(model.options().multi_label, true);
  // Single-label targets are refused with the fix.
  Batch batch{torch::rand({2, 3, 32, 32}), torch::tensor({0, 1}, torch::kLong), {0, 1}};
  EXPECT_EQ(error_text([&] { model.training_step(batch, {}); }),
            "ImageClassifier: multi_label is set but the targets are class indices [2]; use MultiLabelImageDataModule "
            "data or set multi_label to false");
}

TEST(ImageClassifier, OptionsRoundTripThroughJson) {
  auto options = tiny_classifier_options();
  options.num_classes = 5;
  options.label_smoothing = 0.1;
  options.mixup_alpha = 0.2;
  options.scheduler_options = {{"warmup_epochs", 1}};
  options.metrics = {"accuracy", "f1_macro"};
  options.drop_path_rate = 0.05;
  Config config(options.to_json(), "hparams");
  const auto back = ImageClassifierOptions::from(config);
  config.expect_all_used();
  EXPECT_EQ(boost::json::serialize(back.to_json()), boost::json::serialize(options.to_json()));
  EXPECT_EQ(back.drop_path_rate, 0.05);
  EXPECT_FALSE(back.drop_rate.has_value());
}

TEST(ImageClassifier, DataMustMatchTheModel) {
  auto options = tiny_classifier_options();
  options.num_classes = 5;
  ImageClassifier model(options);
  ImageDataModule data(testing::color_data_options());
  EXPECT_EQ(error_text([&] { model.attach_data(data); }),
            "ImageClassifier: the data has 3 classes (blue, green, red), the classifier was built for 5; set "
            "num_classes to 3 (or 0 to take it from the data)");
  ImageClassifier from_data(tiny_classifier_options());
  EXPECT_TRUE(error_text([&] { from_data.forward(torch::rand({2, 3, 32, 32})); })
                  .starts_with("ImageClassifier: the number of classes is not known yet; "));
  from_data.attach_data(data);
  EXPECT_EQ(from_data.num_classes(), 3);
  EXPECT_EQ(from_data.forward(torch::rand({2, 3, 32, 32})).size(1), 3);
}

TEST(ImageClassifier, BadOptionsAreNamed) {
  auto bad = tiny_classifier_options();
  bad.threshold = 1.5;
  EXPECT_EQ(error_text([&] { ImageClassifier m(bad); }), "ImageClassifier: 'threshold' must be in (0, 1), got 1.500000");
  bad = tiny_classifier_options();
  bad.multi_label = true;
  bad.cutmix_alpha = 1.0;
  EXPECT_EQ(error_text([&] { ImageClassifier m(bad); }),
            "ImageClassifier: mixup and cutmix are for single-label classification; set mixup_alpha and cutmix_alpha "
            "to 0");
  bad = tiny_classifier_options();
  bad.loss = "cross_entropy";
  EXPECT_NE(error_text([&] { ImageClassifier m(bad); }).find("closest: "), std::string::npos);
  bad = tiny_classifier_options();
  bad.loss_options = {{"smoothing", 0.1}};
  EXPECT_NE(error_text([&] { ImageClassifier m(bad); }).find("unknown option 'smoothing'"), std::string::npos);
}

TEST(ImageClassifier, FrozenBackboneTrainsOnlyTheHead) {
  auto options = tiny_classifier_options();
  options.num_classes = 3;
  options.freeze_backbone = true;
  options.scheduler = "none";
  ImageClassifier model(options);
  for (const auto& p : model.backbone()->parameters()) EXPECT_FALSE(p.requires_grad());
  auto setup = model.configure_optimizers({});
  std::int64_t optimized = 0, head = 0;
  for (const auto& group : setup.optimizer->param_groups()) {
    for (const auto& p : group.params()) optimized += p.numel();
  }
  for (const auto& p : model.head()->parameters()) head += p.numel();
  EXPECT_EQ(optimized, head);
  EXPECT_EQ(setup.optimizer_name, "adamw");
}

TEST(ImageClassifier, SchedulerNeedingTheRunLengthSaysTheTrainerGivesIt) {
  auto options = tiny_classifier_options();
  options.num_classes = 3;
  ImageClassifier model(options);  // cosine without t_max needs total steps
  EXPECT_NE(error_text([&] { model.configure_optimizers({}); }).find("trainer"), std::string::npos);
  auto setup = model.configure_optimizers({.total_steps = 100, .steps_per_epoch = 10, .max_epochs = 10});
  ASSERT_NE(setup.scheduler, nullptr);
  EXPECT_EQ(setup.scheduler->name(), "cosine");
}

TEST(Mixup, MixesImagesAndTargetsWithOneLambda) {
  SampleRng rng(5);
  const auto images = torch::rand({4, 3, 8, 8});
  const auto labels = torch::tensor({0, 1, 2, 1}, torch::kLong);
  const auto mixed = mix_batch(images, labels, {.mixup_alpha = 1.0, .num_classes = 3}, rng);
  ASSERT_TRUE(mixed.mixed);
  const double lambda = mixed.lambda;
  EXPECT_TRUE(torch::allclose(mixed.images, images * lambda + images.flip(0) * (1 - lambda), 1e-6, 1e-6));
  const auto one_hot = torch::one_hot(labels, 3).to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(mixed.targets, one_hot * lambda + one_hot.flip(0) * (1 - lambda), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(mixed.targets.sum(1), torch::ones({4}), 1e-6, 1e-6));
}

TEST(Mixup, CutmixLambdaIsTheKeptArea) {
  SampleRng rng(11);
  const auto images = torch::zeros({2, 1, 10, 10});
  images[1].fill_(1.0);
  for (int trial = 0; trial < 20; ++trial) {
    const auto mixed = mix_batch(images, torch::tensor({0, 1}), {.cutmix_alpha = 1.0, .num_classes = 2}, rng);
    ASSERT_TRUE(mixed.mixed);
    // Image 0 got a box of image 1 (ones): its mean is the pasted area, 1 - lambda.
    EXPECT_NEAR(mixed.images[0].mean().item<double>(), 1.0 - mixed.lambda, 1e-6);
    EXPECT_NEAR(mixed.targets[0][1].item<double>(), 1.0 - mixed.lambda, 1e-6);
  }
}

TEST(Mixup, BetaDrawsHaveTheRightMean) {
  SampleRng rng(17);
  for (const auto& [a, b] : std::vector<std::pair<double, double>>{{1.0, 1.0}, {0.2, 0.2}, {2.0, 5.0}}) {
    double sum = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
      const double x = sample_beta(rng, a, b);
      ASSERT_GE(x, 0.0);
      ASSERT_LE(x, 1.0);
      sum += x;
    }
    EXPECT_NEAR(sum / n, a / (a + b), 0.01) << "Beta(" << a << ", " << b << ")";
  }
  SampleRng off(1);
  const auto unmixed = mix_batch(torch::rand({2, 3, 4, 4}), torch::tensor({0, 1}), {.mixup_alpha = 1.0, .prob = 0.0}, off);
  EXPECT_FALSE(unmixed.mixed);
}

}  // namespace
}  // namespace autotimm
