// SemanticSegmentor: the maps its heads take, full-resolution logits, loss and metrics, sliding windows, label maps
// taken back to the original images, options through JSON, messages, and a small model trained on the generated
// shapes to a clear mIoU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>

#include "autotimm/data/segmentation_data_module.hpp"
#include "autotimm/data/synthetic_shapes.hpp"
#include "autotimm/error.hpp"
#include "autotimm/tasks/semantic_segmentor.hpp"
#include "autotimm/trainer/auto_trainer.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

using autotimm::testing::error_text;

SemanticSegmentorOptions tiny(const std::string& head = "deeplabv3plus", std::int64_t num_classes = 4) {
  SemanticSegmentorOptions o{.backbone = "resnet10t", .num_classes = num_classes, .head_type = head,
                             .pretrained = false};
  if (head == "deeplabv3plus") {
    o.head_options = {{"aspp_channels", 32}, {"decoder_channels", 32}, {"low_level_channels", 16}};
  } else {
    o.head_options = {{"channels", 32}};
  }
  return o;
}

Batch labelled_batch() {
  Batch batch;
  batch.images = torch::rand({2, 3, 64, 64});
  batch.targets = torch::randint(0, 4, {2, 64, 64}, torch::kInt64);
  batch.targets.narrow(1, 0, 8).fill_(255);  // ignored rows
  return batch;
}

TEST(SemanticSegmentor, HeadsGetTheirMapsAndLogitsAreFullResolution) {
  SemanticSegmentor deeplab(tiny("deeplabv3plus"));
  auto params = deeplab.named_parameters();
  // resnet10t: layer1 (stride 4, 64 channels) is the low-level map, layer4 (512) feeds ASPP.
  bool low = false, aspp = false;
  for (const auto& item : params) {
    low |= item.key().starts_with("head.low_level_project") && item.value().dim() == 4 && item.value().size(1) == 64;
    aspp |= item.key().starts_with("head.aspp.convs.0") && item.value().dim() == 4 && item.value().size(1) == 512;
  }
  EXPECT_TRUE(low);
  EXPECT_TRUE(aspp);
  EXPECT_EQ(deeplab.forward(torch::rand({2, 3, 64, 48})).sizes(), (std::vector<std::int64_t>{2, 4, 64, 48}));
  SemanticSegmentor fcn(tiny("fcn"));
  EXPECT_EQ(fcn.forward(torch::rand({1, 3, 40, 40})).sizes(), (std::vector<std::int64_t>{1, 4, 40, 40}));
  EXPECT_EQ(fcn.named_parameters()["head.0.weight"].size(1), 512);
}

TEST(SemanticSegmentor, HeadsFitEveryFamilysPyramid) {
  // Stride-4 and deepest maps of other families: RegNet (s1 24 / s4 368 channels), ConvNeXt (stages 0 and 3),
  // MobileNet-V3 (stride-4 block 1, deepest block 5), Swin (NCHW maps from forward_intermediates).
  const std::vector<std::pair<std::string, boost::json::object>> backbones = {
      {"regnetx_002", {}},
      {"convnext_atto", {}},
      {"mobilenetv3_small_050", {}},
      {"swin_tiny_patch4_window7_224", {{"img_size", 64}, {"depths", boost::json::array{1, 1, 1, 1}},
                                        {"strict_img_size", false}}}};
  for (const auto& [name, args] : backbones) {
    for (const char* head : {"deeplabv3plus", "fcn"}) {
      auto options = tiny(head);
      options.backbone = name;
      options.backbone_args = args;
      SemanticSegmentor model(options);
      model.eval();
      EXPECT_EQ(model.forward(torch::rand({1, 3, 64, 64})).sizes(), (std::vector<std::int64_t>{1, 4, 64, 64}))
          << name << " " << head;
    }
  }
}

TEST(SemanticSegmentor, TrainingAndEvaluationSteps) {
  SemanticSegmentor model(tiny());
  const auto out = model.training_step(labelled_batch(), {});
  EXPECT_TRUE(std::isfinite(out.loss.item<double>()));
  EXPECT_TRUE(out.terms.count("loss_ce"));
  EXPECT_TRUE(out.terms.count("loss_dice"));
  out.loss.backward();
  EXPECT_GT(model.named_parameters()["backbone.conv1.0.weight"].grad().abs().sum().item<double>(), 0.0);
  model.eval();
  model.evaluation_step(labelled_batch(), "val");
  const auto metrics = model.compute_metrics("val");
  for (const char* name : {"val/mIoU", "val/pixel_accuracy", "val/mean_dice", "val/iou/0"}) {
    EXPECT_TRUE(metrics.count(name)) << name;
  }
  // 2 × 56 × 64 pixels were counted: the ignored rows are not in the confusion matrix.
  EXPECT_EQ(model.metrics("val").confusion_matrix().sum().item<std::int64_t>(), 2 * 56 * 64);
  EXPECT_TRUE(model.compute_metrics("train").empty());
  Batch no_maps;
  no_maps.images = torch::rand({1, 3, 32, 32});
  no_maps.targets = torch::tensor({1}, torch::kInt64);
  EXPECT_NE(error_text([&] { model.training_step(no_maps, {}); }).find("SegmentationDataModule"), std::string::npos);
}

TEST(SemanticSegmentor, SlidingWindowsCoverTheImageAndAverage) {
  SemanticSegmentor model(tiny("fcn"));
  const auto image = torch::rand({1, 3, 48, 40});
  const auto probabilities = model.predict_sliding(image, {.window = 32, .stride = 16});
  EXPECT_EQ(probabilities.sizes(), (std::vector<std::int64_t>{1, 4, 48, 40}));
  EXPECT_TRUE(probabilities.sum(1).allclose(torch::ones({1, 48, 40}), 1e-5, 1e-5));
  // One window the size of the image is the plain forward pass.
  const auto whole = model.predict_sliding(image, {.window = 48, .stride = 48});
  model.eval();
  torch::NoGradGuard no_grad;
  const auto direct = torch::softmax(model.forward(torch::constant_pad_nd(image, {0, 8, 0, 0}, 0.0)), 1);
  EXPECT_TRUE(whole.allclose(direct.narrow(3, 0, 40), 1e-5, 1e-5));
  EXPECT_THROW(model.predict_sliding(image, {.window = 16, .stride = 32}), ConfigError);
}

TEST(SemanticSegmentor, LabelMapsGoBackToTheOriginalImage) {
  // A 40x20 original letterboxed into 16x16: scale 0.4, 4 padded rows above. Logits favour class 1 in the image
  // region, class 2 in the padding.
  Batch batch;
  batch.input_maps = torch::tensor({{0.4, 0.0, 0.4, 4.0}}, torch::kFloat64);
  batch.orig_sizes = torch::tensor({{20, 40}}, torch::kInt64);
  auto logits = torch::zeros({1, 3, 16, 16});
  logits.select(1, 2).fill_(1.0);
  logits.select(1, 1).narrow(1, 4, 8).fill_(2.0);
  const auto maps = to_original_label_maps(logits, batch);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].sizes(), (std::vector<std::int64_t>{20, 40}));
  EXPECT_TRUE(maps[0].eq(1).all().item<bool>());
}

TEST(SemanticSegmentor, OptionsRoundTripAndMessages) {
  auto options = tiny();
  options.class_weights = {1.0, 2.0, 2.0, 2.0};
  options.loss_options = {{"smooth", 0.5}};
  options.drop_path_rate = 0.1;
  Config config(options.to_json(), "hparams");
  const auto back = SemanticSegmentorOptions::from(config);
  config.expect_all_used();
  EXPECT_EQ(back.to_json(), options.to_json());
  options = tiny();
  options.ignore_index = 2;
  EXPECT_NE(error_text([&] { SemanticSegmentor{options}; }).find("'ignore_index' 2 is a class index"),
            std::string::npos);
  options = tiny();
  options.class_weights = {1.0};
  EXPECT_NE(error_text([&] { SemanticSegmentor{options}; }).find("'class_weights' has 1 values for num_classes 4"),
            std::string::npos);
  SemanticSegmentor unsized(tiny("fcn", 0));
  EXPECT_NE(error_text([&] { unsized.forward(torch::rand({1, 3, 32, 32})); }).find("number of classes is not known"),
            std::string::npos);
}

// A small model learns the shapes: background and three classes of one colour each, 64-pixel images.
TEST(SemanticSegmentorTraining, LearnsTheShapesToAClearMiou) {
  autotimm::testing::TempDir dir;
  write_shapes_dataset({.out = dir / "shapes", .train_images = 96, .val_images = 16, .image_size = 64,
                        .min_objects = 1, .max_objects = 3, .min_object_size = 12, .max_object_size = 32, .seed = 1,
                        .task = ShapesTask::segmentation});
  SegmentationDataModule data({.data_dir = dir / "shapes",
                               .class_names = {"background", "rectangle", "ellipse", "triangle"},
                               .image_size = 64,
                               .train_transforms = "light",
                               .batch_size = 16,
                               .num_workers = 2});
  auto options = tiny("deeplabv3plus", 0);
  options.lr = 3e-3;
  options.scheduler_options = {{"warmup_epochs", 1}};
  SemanticSegmentor model(options);
  AutoTrainer trainer({.max_epochs = 16,
                       .checkpoint_monitor = "val/mIoU",
                       .checkpoint_mode = "max",
                       .default_root_dir = dir.path(),
                       .num_sanity_val_steps = 0,
                       .enable_progress_bar = false,
                       .enable_model_summary = false});
  trainer.fit(model, data);
  const auto& metrics = trainer.logged_metrics();
  ASSERT_TRUE(metrics.count("val/mIoU"));
  EXPECT_GT(metrics.at("val/mIoU"), 0.7) << "pixel accuracy " << metrics.at("val/pixel_accuracy");
  const auto restored = SemanticSegmentor::load_from_checkpoint(trainer.best_model_path());
  EXPECT_EQ(restored->class_names(), (std::vector<std::string>{"background", "rectangle", "ellipse", "triangle"}));
  EXPECT_EQ(restored->data_config()->crop_mode, "letterbox");
}

}  // namespace
}  // namespace autotimm
