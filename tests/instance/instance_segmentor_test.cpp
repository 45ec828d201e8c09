// InstanceSegmentor: the mask branch on the detector's pyramid, the loss terms and where their gradients go, masks
// and boxes taken back to the original images, the COCO box and mask metrics, options through JSON, every message,
// and a small model trained on the generated shapes to a clear mask mAP.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>

#include "autotimm/data/instance_segmentation_data_module.hpp"
#include "autotimm/data/synthetic_shapes.hpp"
#include "autotimm/error.hpp"
#include "autotimm/tasks/instance_segmentor.hpp"
#include "autotimm/tasks/load_task.hpp"
#include "autotimm/trainer/auto_trainer.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

using autotimm::testing::error_text;

InstanceSegmentorOptions tiny(std::int64_t num_classes = 3) {
  return {.detector = {.backbone = "resnet10t",
                       .num_classes = num_classes,
                       .fpn_channels = 32,
                       .head_num_convs = 1,
                       .strides = {8, 16, 32, 64},
                       .pretrained = false},
          .roi_pool_size = 7,
          .mask_size = 14,
          .mask_head_channels = 16,
          .mask_head_num_convs = 2};
}

/// Two 64-pixel images: the first with one object (a filled rectangle mask), the second with none.
Batch one_object_batch() {
  Batch batch;
  batch.images = torch::rand({2, 3, 64, 64});
  batch.boxes = {torch::tensor({{8.0f, 8.0f, 40.0f, 30.0f}}), torch::zeros({0, 4})};
  batch.labels = {torch::tensor({2}, torch::kInt64), torch::zeros({0}, torch::kInt64)};
  batch.iscrowd = {torch::zeros({1}, torch::kBool), torch::zeros({0}, torch::kBool)};
  batch.areas = {torch::tensor({704.0}, torch::kFloat64), torch::zeros({0}, torch::kFloat64)};
  auto mask = torch::zeros({1, 64, 64}, torch::kUInt8);
  mask.index_put_({0, torch::indexing::Slice(8, 30), torch::indexing::Slice(8, 40)}, 1);
  batch.masks = {mask, torch::zeros({0, 64, 64}, torch::kUInt8)};
  batch.image_ids = torch::tensor({7, 9}, torch::kInt64);
  batch.orig_sizes = torch::full({2, 2}, 64, torch::kInt64);
  batch.input_maps = torch::tensor({{1.0, 0.0, 1.0, 0.0}, {1.0, 0.0, 1.0, 0.0}}, torch::kFloat64);
  return batch;
}

TEST(InstanceSegmentor, BuildsTheMaskBranchOnThePyramid) {
  InstanceSegmentor model(tiny());
  auto params = model.named_parameters();
  ASSERT_TRUE(params.contains("mask_head.mask_head.0.0.weight"));
  EXPECT_EQ(params["mask_head.mask_head.0.0.weight"].sizes(), (std::vector<std::int64_t>{16, 32, 3, 3}));
  EXPECT_TRUE(params.contains("mask_head.mask_head.1.0.weight"));
  EXPECT_FALSE(params.contains("mask_head.mask_head.2.0.weight"));
  EXPECT_EQ(params["mask_head.mask_predictor.mask_fcn_logits.weight"].sizes(),
            (std::vector<std::int64_t>{3, 16, 1, 1}));
  EXPECT_TRUE(params.contains("neck.inner_blocks.0.0.weight"));  // the detector is all there
  // Boxes of both images pooled from the pyramid: class logits at mask_size.
  const auto rois = torch::tensor({{0.0f, 4.0f, 4.0f, 20.0f, 20.0f}, {1.0f, 0.0f, 0.0f, 64.0f, 64.0f}});
  model.eval();
  const auto logits = model.mask_logits(model.pyramid(torch::rand({2, 3, 64, 64})), rois);
  EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{2, 3, 14, 14}));
}

TEST(InstanceSegmentor, TrainingStepAddsTheMaskLoss) {
  InstanceSegmentor model(tiny());
  const auto out = model.training_step(one_object_batch(), {});
  ASSERT_TRUE(out.loss.defined());
  for (const char* term : {"loss_cls", "loss_box", "loss_centerness", "loss_mask"}) {
    EXPECT_TRUE(out.terms.count(term)) << term;
  }
  const double mask = out.terms.at("loss_mask").item<double>();
  EXPECT_GT(mask, 0.1);  // BCE of an untrained head against a filled box: near log 2
  double detection = 0.0;
  for (const char* term : {"loss_cls", "loss_box", "loss_centerness"}) detection += out.terms.at(term).item<double>();
  EXPECT_NEAR(out.loss.item<double>(), detection + mask, 1e-4);
  out.loss.backward();
  auto params = model.named_parameters();
  EXPECT_GT(params["mask_head.mask_predictor.mask_fcn_logits.weight"].grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(params["neck.layer_blocks.0.0.weight"].grad().abs().sum().item<double>(), 0.0);
  // mask_loss_weight scales the term.
  auto weighted = tiny();
  weighted.mask_loss_weight = 0.0;
  InstanceSegmentor unweighted(weighted);
  EXPECT_EQ(unweighted.training_step(one_object_batch(), {}).terms.at("loss_mask").item<double>(), 0.0);
}

// Without objects the mask branch still takes part in the graph (zero gradient), as distributed training needs.
TEST(InstanceSegmentor, ImagesWithoutObjectsKeepTheMaskBranchInTheGraph) {
  InstanceSegmentor model(tiny());
  auto batch = one_object_batch();
  batch.boxes[0] = torch::zeros({0, 4});
  batch.labels[0] = torch::zeros({0}, torch::kInt64);
  batch.iscrowd[0] = torch::zeros({0}, torch::kBool);
  batch.areas[0] = torch::zeros({0}, torch::kFloat64);
  batch.masks[0] = torch::zeros({0, 64, 64}, torch::kUInt8);
  const auto out = model.training_step(batch, {});
  EXPECT_EQ(out.terms.at("loss_mask").item<double>(), 0.0);
  out.loss.backward();
  const auto grad = model.named_parameters()["mask_head.mask_predictor.mask_fcn_logits.weight"].grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_EQ(grad.abs().sum().item<double>(), 0.0);
}

TEST(InstanceSegmentor, EvaluationFeedsBoxAndMaskMetrics) {
  InstanceSegmentor model(tiny());
  model.eval();
  const auto out = model.evaluation_step(one_object_batch(), "val");
  EXPECT_TRUE(std::isfinite(out.loss.item<double>()));
  EXPECT_TRUE(out.terms.count("loss_mask"));
  const auto metrics = model.compute_metrics("val");
  for (const char* name : {"val/map", "val/map_50", "val/mask_map", "val/mask_map_50", "val/mask_mar_100",
                           "val/mask_ap/2"}) {
    EXPECT_TRUE(metrics.count(name)) << name;
  }
  model.reset_metrics("val");
  EXPECT_TRUE(model.compute_metrics("val").empty());
  EXPECT_NE(error_text([&] { model.evaluation_step(one_object_batch(), "train"); }).find("unknown evaluation stage"),
            std::string::npos);
}

TEST(InstanceSegmentor, PredictsMasksAtTheInputAndBoxCoordinatesForPredictStep) {
  InstanceSegmentor model(tiny());
  const auto found = model.predict(torch::rand({2, 3, 64, 64}));
  ASSERT_EQ(found.size(), 2u);
  for (const auto& image : found) {
    const auto k = image.boxes.size(0);
    EXPECT_EQ(image.mask_probs.sizes(), (std::vector<std::int64_t>{k, 14, 14}));
    EXPECT_EQ(image.masks.sizes(), (std::vector<std::int64_t>{k, 64, 64}));
    EXPECT_EQ(image.masks.scalar_type(), torch::kBool);
  }
  EXPECT_TRUE(model.is_training());  // the mode is restored
  const auto predicted = model.predict_step(one_object_batch());
  EXPECT_EQ(predicted.at("mask_probs").sizes(), (std::vector<std::int64_t>{2, 100, 14, 14}));
  EXPECT_EQ(predicted.at("boxes").sizes(), (std::vector<std::int64_t>{2, 100, 4}));
}

// Masks of the input go back to the original image through the batch's map: scaled, and shifted by padding.
TEST(InstanceSegmentor, MasksGoBackToTheOriginalImage) {
  Batch batch;
  batch.input_maps = torch::tensor({{2.0, 0.0, 2.0, 0.0}, {1.0, 2.0, 1.0, 0.0}}, torch::kFloat64);
  batch.orig_sizes = torch::tensor({{4, 4}, {8, 4}}, torch::kInt64);
  auto input = torch::zeros({1, 8, 8}, torch::kUInt8);
  input.index_put_({0, torch::indexing::Slice(2, 4), torch::indexing::Slice(4, 8)}, 1);
  auto expected = torch::zeros({1, 4, 4}, torch::kUInt8);
  expected.index_put_({0, 1, torch::indexing::Slice(2, 4)}, 1);
  EXPECT_TRUE(torch::equal(masks_to_original(input, batch, 0), expected));
  // Image 1 was padded by 2 columns on the left: input columns 2..5 are original columns 0..3.
  auto shifted = torch::zeros({1, 8, 8}, torch::kUInt8);
  shifted.index_put_({0, torch::indexing::Slice(), torch::indexing::Slice(2, 4)}, 1);
  auto back = torch::zeros({1, 8, 4}, torch::kUInt8);
  back.index_put_({0, torch::indexing::Slice(), torch::indexing::Slice(0, 2)}, 1);
  EXPECT_TRUE(torch::equal(masks_to_original(shifted, batch, 1), back));

  // A box of the input halved from the original: its mask pasted over the whole original box.
  Batch half;
  half.images = torch::zeros({1, 3, 32, 32});
  half.input_maps = torch::tensor({{0.5, 0.0, 0.5, 0.0}}, torch::kFloat64);
  half.orig_sizes = torch::tensor({{64, 64}}, torch::kInt64);
  const InstanceResult instances{torch::tensor({{4.0f, 4.0f, 12.0f, 12.0f}}), torch::tensor({0.9f}),
                                 torch::tensor({1}, torch::kInt64), torch::ones({1, 14, 14}), {}};
  const auto original = to_original_instances(instances, half, 0, 0.5);
  EXPECT_TRUE(original.boxes.allclose(torch::tensor({{8.0f, 8.0f, 24.0f, 24.0f}})));
  ASSERT_EQ(original.masks.sizes(), (std::vector<std::int64_t>{1, 64, 64}));
  EXPECT_EQ(original.masks.sum().item<std::int64_t>(), 16 * 16);
  EXPECT_TRUE(original.masks[0]
                  .index({torch::indexing::Slice(8, 24), torch::indexing::Slice(8, 24)})
                  .all()
                  .item<bool>());
}

TEST(InstanceSegmentor, OptionsRoundTripThroughJson) {
  auto options = tiny();
  options.detector.class_names = {"a", "b", "c"};
  options.mask_strides = {8, 16};
  options.mask_loss = "mask_dice";
  options.mask_proposals_per_image = 12;
  Config config(options.to_json(), "hparams");
  const auto back = InstanceSegmentorOptions::from(config);
  config.expect_all_used();
  EXPECT_EQ(back.to_json(), options.to_json());
  EXPECT_EQ(back.detector.fpn_channels, 32);
  EXPECT_EQ(back.mask_strides, (std::vector<double>{8, 16}));
  InstanceSegmentor model(back);
  EXPECT_EQ(model.hparams(), options.to_json());
}

TEST(InstanceSegmentor, Messages) {
  auto options = tiny();
  options.mask_size = 28;
  EXPECT_NE(error_text([&] { InstanceSegmentor{options}; })
                .find("'mask_size' is 28 but the mask head doubles 'roi_pool_size' (7); set mask_size to 14"),
            std::string::npos);
  options = tiny();
  options.mask_strides = {4, 8};
  EXPECT_NE(error_text([&] { InstanceSegmentor{options}; }).find("mask stride 4"), std::string::npos);
  options = tiny();
  options.mask_threshold = 1.0;
  EXPECT_NE(error_text([&] { InstanceSegmentor{options}; }).find("'mask_threshold' must be in (0, 1)"),
            std::string::npos);
  InstanceSegmentor model(tiny());
  auto boxes_only = one_object_batch();
  boxes_only.masks.clear();
  EXPECT_NE(error_text([&] { model.training_step(boxes_only, {}); }).find("InstanceSegmentationDataModule"),
            std::string::npos);
}

// A small model learns the shapes' masks: three classes, objects of 12–32 pixels in 64-pixel images.
TEST(InstanceSegmentorTraining, LearnsTheShapesToAClearMaskMap) {
  autotimm::testing::TempDir dir;
  write_shapes_dataset({.out = dir / "shapes", .train_images = 128, .val_images = 32, .image_size = 64,
                        .min_objects = 1, .max_objects = 3, .min_object_size = 12, .max_object_size = 32, .seed = 1,
                        .task = ShapesTask::instance});
  InstanceSegmentationDataModule data({.data_dir = dir / "shapes", .image_size = 64, .batch_size = 16,
                                       .num_workers = 2});
  auto options = tiny(0);
  options.detector.strides = {8, 16, 32};
  options.detector.regress_ranges = {{-1, 16}, {16, 32}, {32, std::numeric_limits<double>::infinity()}};
  options.detector.lr = 2e-3;
  options.detector.scheduler_options = {{"warmup_epochs", 1}};
  InstanceSegmentor model(options);
  AutoTrainer trainer({.max_epochs = 24,
                       .checkpoint_monitor = "val/mask_map",
                       .checkpoint_mode = "max",
                       .default_root_dir = dir.path(),
                       .num_sanity_val_steps = 0,
                       .enable_progress_bar = false,
                       .enable_model_summary = false});
  trainer.fit(model, data);
  const auto& metrics = trainer.logged_metrics();
  ASSERT_TRUE(metrics.count("val/mask_map"));
  std::cout << "last epoch: val/mask_map " << metrics.at("val/mask_map") << ", val/map " << metrics.at("val/map")
            << "\n";
  EXPECT_GT(metrics.at("val/mask_map"), 0.4) << "val/mask_map_50 " << metrics.at("val/mask_map_50") << ", val/map "
                                             << metrics.at("val/map");
  // The best checkpoint restores an instance segmentor, whatever loads it.
  const auto restored = std::dynamic_pointer_cast<InstanceSegmentor>(load_task_from_checkpoint(trainer.best_model_path()));
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(restored->class_names(), (std::vector<std::string>{"rectangle", "ellipse", "triangle"}));
  EXPECT_EQ(restored->instance_options().mask_size, 14);
}

}  // namespace
}  // namespace autotimm
