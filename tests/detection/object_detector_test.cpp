// ObjectDetector: its modules and their names, the pyramid it builds from a backbone's strides, the loss on a batch,
// boxes mapped back to the original images, options through JSON, every message, and a small detector trained on
// the generated shapes to a clear COCO mAP.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>

#include "autotimm/data/detection_data_module.hpp"
#include "autotimm/data/synthetic_shapes.hpp"
#include "autotimm/error.hpp"
#include "autotimm/tasks/object_detector.hpp"
#include "autotimm/trainer/auto_trainer.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

using autotimm::testing::error_text;

ObjectDetectorOptions tiny(std::int64_t num_classes = 3) {
  return ObjectDetectorOptions{.backbone = "resnet10t",
                               .num_classes = num_classes,
                               .fpn_channels = 32,
                               .head_num_convs = 1,
                               .strides = {8, 16, 32, 64},
                               .pretrained = false};
}

Batch one_object_batch() {
  Batch batch;
  batch.images = torch::rand({2, 3, 64, 64});
  batch.boxes = {torch::tensor({{8.0f, 8.0f, 40.0f, 30.0f}}), torch::zeros({0, 4})};
  batch.labels = {torch::tensor({2}, torch::kInt64), torch::zeros({0}, torch::kInt64)};
  batch.iscrowd = {torch::zeros({1}, torch::kBool), torch::zeros({0}, torch::kBool)};
  batch.areas = {torch::tensor({704.0}, torch::kFloat64), torch::zeros({0}, torch::kFloat64)};
  batch.image_ids = torch::tensor({7, 9}, torch::kInt64);
  batch.orig_sizes = torch::full({2, 2}, 64, torch::kInt64);
  batch.input_maps = torch::tensor({{1.0, 0.0, 1.0, 0.0}, {1.0, 0.0, 1.0, 0.0}}, torch::kFloat64);
  return batch;
}

TEST(ObjectDetector, BuildsThePyramidFromTheBackbonesStrides) {
  ObjectDetector model(tiny());
  auto params = model.named_parameters();
  // resnet10t's layer2..layer4 give strides 8, 16, 32 with 128, 256, 512 channels; P6 comes from the neck.
  ASSERT_TRUE(params.contains("neck.inner_blocks.0.0.weight"));
  EXPECT_EQ(params["neck.inner_blocks.0.0.weight"].sizes(), (std::vector<std::int64_t>{32, 128, 1, 1}));
  EXPECT_EQ(params["neck.inner_blocks.2.0.weight"].sizes(), (std::vector<std::int64_t>{32, 512, 1, 1}));
  EXPECT_TRUE(params.contains("neck.extra_blocks.p6.weight"));
  EXPECT_FALSE(params.contains("neck.extra_blocks.p7.weight"));
  EXPECT_EQ(params["head.classification_head.cls_logits.weight"].sizes(), (std::vector<std::int64_t>{3, 32, 3, 3}));
  const auto outputs = model.forward(torch::rand({2, 3, 64, 64}));
  ASSERT_EQ(outputs.size(), 12u);
  EXPECT_EQ(outputs[0].sizes(), (std::vector<std::int64_t>{2, 3, 8, 8}));
  EXPECT_EQ(outputs[1].sizes(), (std::vector<std::int64_t>{2, 4, 8, 8}));
  EXPECT_EQ(outputs[2].sizes(), (std::vector<std::int64_t>{2, 1, 8, 8}));
  EXPECT_EQ(outputs[9].sizes(), (std::vector<std::int64_t>{2, 3, 1, 1}));  // P6: stride 64
  const auto levels = model.levels_for(outputs);
  ASSERT_EQ(levels.size(), 4u);
  EXPECT_EQ(levels[3].stride, 64);
  EXPECT_TRUE(std::isinf(levels[3].regress_range.second));
}

TEST(ObjectDetector, TrainingStepLossTermsAndGradients) {
  ObjectDetector model(tiny());
  const auto out = model.training_step(one_object_batch(), {});
  ASSERT_TRUE(out.loss.defined());
  EXPECT_TRUE(std::isfinite(out.loss.item<double>()));
  for (const char* term : {"loss_cls", "loss_box", "loss_centerness"}) EXPECT_TRUE(out.terms.count(term)) << term;
  EXPECT_GT(out.terms.at("loss_box").item<double>(), 0.0);  // the one object has positives
  out.loss.backward();
  auto params = model.named_parameters();
  EXPECT_GT(params["head.regression_head.bbox_reg.weight"].grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(params["backbone.conv1.0.weight"].grad().abs().sum().item<double>(), 0.0);
  Batch classification;
  classification.images = torch::rand({1, 3, 64, 64});
  classification.targets = torch::tensor({0}, torch::kInt64);
  EXPECT_NE(error_text([&] { model.training_step(classification, {}); }).find("DetectionDataModule"),
            std::string::npos);
}

TEST(ObjectDetector, EvaluationFeedsTheCocoMetric) {
  ObjectDetector model(tiny());
  model.eval();
  const auto out = model.evaluation_step(one_object_batch(), "val");
  EXPECT_TRUE(std::isfinite(out.loss.item<double>()));
  const auto metrics = model.compute_metrics("val");
  EXPECT_TRUE(metrics.count("val/map"));
  EXPECT_TRUE(metrics.count("val/map_50"));
  EXPECT_TRUE(metrics.count("val/ap/2"));  // classes named by index without names
  model.reset_metrics("val");
  EXPECT_TRUE(model.compute_metrics("val").empty());
  EXPECT_TRUE(model.compute_metrics("train").empty());
  const auto predicted = model.predict_step(one_object_batch());
  EXPECT_EQ(predicted.at("boxes").sizes(), (std::vector<std::int64_t>{2, 100, 4}));
  EXPECT_EQ(predicted.at("counts").sizes(), (std::vector<std::int64_t>{2}));
}

TEST(ObjectDetector, DetectionsMapBackToTheOriginalImage) {
  Batch batch;
  batch.input_maps = torch::tensor({{0.5, 4.0, 0.5, 8.0}}, torch::kFloat64);  // input = 0.5 · original + (4, 8)
  batch.orig_sizes = torch::tensor({{60, 100}}, torch::kInt64);               // height 60, width 100
  const DetectionResult input{torch::tensor({{10.0f, 20.0f, 30.0f, 40.0f}}), torch::tensor({0.9f}),
                              torch::tensor({1}, torch::kInt64)};
  const auto original = to_original_image(input, batch, 0);
  EXPECT_TRUE(original.boxes.allclose(torch::tensor({{12.0f, 24.0f, 52.0f, 60.0f}})));  // y2 64 clipped to 60
  EXPECT_TRUE(original.scores.equal(input.scores));
}

TEST(ObjectDetector, OptionsRoundTripThroughJson) {
  auto options = tiny();
  options.regress_ranges = {{-1, 32}, {32, 64}, {64, 128}, {128, std::numeric_limits<double>::infinity()}};
  options.class_names = {"a", "b", "c"};
  options.drop_path_rate = 0.1;
  Config config(options.to_json(), "hparams");
  const auto back = ObjectDetectorOptions::from(config);
  config.expect_all_used();
  EXPECT_EQ(back.to_json(), options.to_json());
  EXPECT_TRUE(std::isinf(back.regress_ranges.back().second));
}

TEST(ObjectDetector, Messages) {
  auto options = tiny();
  options.strides = {12, 24};
  EXPECT_NE(error_text([&] { ObjectDetector{options}; }).find("has no stage of stride 12 (its strides: 2, 4, 8, 16, 32)"),
            std::string::npos);
  options.strides = {8, 16, 32, 128};
  EXPECT_NE(error_text([&] { ObjectDetector{options}; }).find("not twice the level before"), std::string::npos);
  options = tiny();
  options.detection_arch = "yolo";
  EXPECT_EQ(error_text([&] { ObjectDetector{options}; }),
            "ObjectDetector: 'detection_arch' \"yolo\" is not built; the choice is \"fcos\"");
  options = tiny();
  options.regress_ranges = {{-1, 64}};
  EXPECT_NE(error_text([&] { ObjectDetector{options}; }).find("1 pairs for 4 strides"), std::string::npos);
  ObjectDetector unsized(tiny(0));
  EXPECT_NE(error_text([&] { unsized.forward(torch::rand({1, 3, 32, 32})); }).find("number of classes is not known"),
            std::string::npos);
}

// A small detector learns the shapes: three classes of one colour each, boxes of 12–32 pixels in 64-pixel images.
TEST(ObjectDetectorTraining, LearnsTheShapesToAClearMap) {
  autotimm::testing::TempDir dir;
  write_shapes_dataset({.out = dir / "shapes", .train_images = 128, .val_images = 32, .image_size = 64,
                        .min_objects = 1, .max_objects = 3, .min_object_size = 12, .max_object_size = 32, .seed = 1,
                        .task = ShapesTask::detection});
  DetectionDataModule data({.data_dir = dir / "shapes", .image_size = 64, .batch_size = 16, .num_workers = 2});
  auto options = tiny(0);
  options.strides = {8, 16, 32};
  options.regress_ranges = {{-1, 16}, {16, 32}, {32, std::numeric_limits<double>::infinity()}};
  options.lr = 2e-3;
  options.scheduler_options = {{"warmup_epochs", 1}};
  ObjectDetector model(options);
  AutoTrainer trainer({.max_epochs = 24,
                       .checkpoint_monitor = "val/map",
                       .checkpoint_mode = "max",
                       .default_root_dir = dir.path(),
                       .num_sanity_val_steps = 0,
                       .enable_progress_bar = false,
                       .enable_model_summary = false});
  trainer.fit(model, data);
  const auto& metrics = trainer.logged_metrics();
  ASSERT_TRUE(metrics.count("val/map"));
  EXPECT_GT(metrics.at("val/map"), 0.5) << "val/map_50 " << metrics.at("val/map_50");
  // The best checkpoint restores a detector that finds the same boxes.
  const auto restored = ObjectDetector::load_from_checkpoint(trainer.best_model_path());
  EXPECT_EQ(restored->class_names(), (std::vector<std::string>{"rectangle", "ellipse", "triangle"}));
  ASSERT_TRUE(restored->data_config().has_value());
  EXPECT_EQ(restored->data_config()->crop_mode, "letterbox");
}

}  // namespace
}  // namespace autotimm
