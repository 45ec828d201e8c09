// Test-time augmentation with a horizontal flip: the classifier's mean of both views' probabilities, the segmentor's
// mirrored map flipped back pixel for pixel, the detector's mirrored boxes taken back and merged by per-class NMS.
// The mirror images are built here by reversing the columns with an index (not with the library's flip).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "autotimm/error.hpp"
#include "autotimm/inference/test_time_augmentation.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/tasks/instance_segmentor.hpp"
#include "autotimm/tasks/object_detector.hpp"
#include "autotimm/tasks/semantic_segmentor.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

using autotimm::testing::error_text;

/// Columns reversed: pixel (y, x) takes (y, W - 1 - x).
torch::Tensor mirror(const torch::Tensor& images) {
  const auto width = images.size(-1);
  return images.index_select(-1, torch::arange(width - 1, -1, -1, torch::kLong));
}

TEST(TestTimeAugmentation, ModesByNameAndAClearErrorOtherwise) {
  EXPECT_EQ(parse_tta_mode("flip"), TtaMode::flip);
  EXPECT_EQ(parse_tta_mode("none"), TtaMode::none);
  EXPECT_EQ(tta_mode_name(TtaMode::flip), "flip");
  EXPECT_THROW(parse_tta_mode("rotate"), ConfigError);
  EXPECT_EQ(error_text([] { parse_tta_mode("rotate"); }),
            "unknown test-time augmentation 'rotate'; supported: none, flip");
}

TEST(TestTimeAugmentation, ClassifierFlipIsTheMeanOfBothViewsProbabilities) {
  for (const bool multi_label : {false, true}) {
    ImageClassifier model({.backbone = "resnet10t", .num_classes = 3, .multi_label = multi_label, .pretrained = false});
    torch::manual_seed(5);
    const auto images = torch::randn({2, 3, 32, 32});
    model.train();  // the call switches to eval and back
    const auto got = classify_with_tta(model, images, TtaMode::flip);
    EXPECT_TRUE(model.is_training());
    model.eval();
    torch::NoGradGuard no_grad;
    auto probabilities = [&](const torch::Tensor& logits) {
      return multi_label ? torch::sigmoid(logits) : torch::softmax(logits, 1);
    };
    const auto plain = probabilities(model.forward(images));
    const auto mirrored = probabilities(model.forward(mirror(images)));
    ASSERT_GT((plain - mirrored).abs().max().item<double>(), 1e-4) << "the two views must differ for this test";
    EXPECT_TRUE(torch::allclose(got, (plain + mirrored) / 2, 1e-5, 1e-6)) << multi_label;
    EXPECT_TRUE(torch::allclose(classify_with_tta(model, images, TtaMode::none), plain, 1e-5, 1e-6));
  }
}

TEST(TestTimeAugmentation, SegmentorFlipsTheMirroredMapBackPixelForPixel) {
  SemanticSegmentor model({.backbone = "resnet10t", .num_classes = 4, .head_type = "fcn",
                           .head_options = {{"channels", 16}}, .pretrained = false});
  torch::manual_seed(6);
  const auto images = torch::randn({2, 3, 32, 48});
  const auto got = segment_with_tta(model, images, TtaMode::flip);
  ASSERT_EQ(got.sizes(), (std::vector<std::int64_t>{2, 4, 32, 48}));
  {
    model.eval();
    torch::NoGradGuard no_grad;
    const auto plain = torch::softmax(model.forward(images), 1);
    const auto mirrored_back = mirror(torch::softmax(model.forward(mirror(images)), 1));
    EXPECT_TRUE(torch::allclose(got, (plain + mirrored_back) / 2, 1e-5, 1e-6));
    // Not flipping back would mix pixel x with pixel W - 1 - x: the two maps must differ, or the test proves nothing.
    EXPECT_FALSE(torch::allclose(got, (plain + torch::softmax(model.forward(mirror(images)), 1)) / 2, 1e-3, 1e-4));
    EXPECT_TRUE(torch::allclose(segment_with_tta(model, images, TtaMode::none), plain, 1e-5, 1e-6));
  }
  // The merged map of the mirror image is the mirror of the merged map.
  EXPECT_TRUE(torch::allclose(segment_with_tta(model, mirror(images), TtaMode::flip), mirror(got), 1e-5, 1e-6));
}

DetectionResult detections(std::vector<std::array<float, 4>> boxes, std::vector<float> scores,
                           std::vector<std::int64_t> labels) {
  auto b = torch::empty({static_cast<std::int64_t>(boxes.size()), 4});
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    for (int k = 0; k < 4; ++k) b[static_cast<std::int64_t>(i)][k] = boxes[i][static_cast<std::size_t>(k)];
  }
  return {b, torch::tensor(scores), torch::tensor(labels, torch::kInt64)};
}

TEST(TestTimeAugmentation, MergeKeepsTheBestBoxPerClassAndObject) {
  const auto a = detections({{0, 0, 10, 10}, {50, 50, 60, 60}}, {0.9f, 0.4f}, {0, 1});
  // b[0] overlaps a[0] with IoU 90 / 110 = 0.82 in the same class: suppressed. b[1] is a[0]'s box in another class:
  // kept. b[2] is alone and best.
  const auto b = detections({{1, 0, 11, 10}, {0, 0, 10, 10}, {100, 100, 120, 120}}, {0.8f, 0.7f, 0.95f}, {0, 2, 1});
  const auto merged = merge_detections(a, b, 0.6, 10);
  EXPECT_TRUE(torch::allclose(merged.scores, torch::tensor({0.95f, 0.9f, 0.7f, 0.4f})));
  EXPECT_TRUE(torch::equal(merged.labels, torch::tensor({1, 0, 2, 1}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(merged.boxes[1], torch::tensor({0.0f, 0.0f, 10.0f, 10.0f})));
  const auto capped = merge_detections(a, b, 0.6, 2);
  EXPECT_EQ(capped.scores.size(0), 2);
  // A looser threshold keeps the overlapping pair.
  EXPECT_EQ(merge_detections(a, b, 0.9, 10).scores.size(0), 5);
}

TEST(TestTimeAugmentation, DetectorTakesTheMirrorsBoxesBackBeforeMerging) {
  ObjectDetector model({.backbone = "resnet10t", .num_classes = 3, .fpn_channels = 32, .head_num_convs = 1,
                        .strides = {8, 16, 32, 64}, .score_thresh = 0.0, .max_detections_per_image = 30,
                        .pretrained = false});
  torch::manual_seed(8);
  const auto images = torch::rand({1, 3, 64, 96});
  const auto got = detect_with_tta(model, images, TtaMode::flip);
  ASSERT_EQ(got.size(), 1u);
  const auto plain = model.predict(images)[0];
  const auto seen_mirrored = model.predict(mirror(images))[0];
  ASSERT_GT(plain.scores.size(0), 0);
  ASSERT_GT(seen_mirrored.scores.size(0), 0);
  // By hand: x1' = 96 - x2, x2' = 96 - x1.
  auto back = seen_mirrored.boxes.clone();
  back.select(1, 0) = 96.0 - seen_mirrored.boxes.select(1, 2);
  back.select(1, 2) = 96.0 - seen_mirrored.boxes.select(1, 0);
  const auto expected = merge_detections(plain, {back, seen_mirrored.scores, seen_mirrored.labels}, 0.6, 30);
  ASSERT_EQ(got[0].boxes.sizes(), expected.boxes.sizes());
  EXPECT_TRUE(torch::allclose(got[0].boxes, expected.boxes, 1e-4, 1e-4));
  EXPECT_TRUE(torch::equal(got[0].labels, expected.labels));
  EXPECT_LE(got[0].scores.size(0), 30);
  // Every box lies inside the image: the mirrored ones were taken back, not left in the mirror's frame.
  EXPECT_GE(got[0].boxes.min().item<double>(), 0.0);
  EXPECT_LE(got[0].boxes.select(1, 2).max().item<double>(), 96.0);
  // Without TTA: the model's own predictions.
  EXPECT_TRUE(torch::equal(detect_with_tta(model, images, TtaMode::none)[0].scores, plain.scores));
}

TEST(TestTimeAugmentation, InstanceSegmentorRefusesFlipClearly) {
  InstanceSegmentor model({.detector = {.backbone = "resnet10t", .num_classes = 2, .fpn_channels = 32,
                                        .head_num_convs = 1, .strides = {8, 16, 32, 64}, .pretrained = false},
                           .roi_pool_size = 7, .mask_size = 14, .mask_head_channels = 16, .mask_head_num_convs = 1});
  const auto images = torch::rand({1, 3, 64, 64});
  EXPECT_THROW(detect_with_tta(model, images, TtaMode::flip), ConfigError);
  const auto message = error_text([&] { detect_with_tta(model, images, TtaMode::flip); });
  EXPECT_NE(message.find("not supported for an InstanceSegmentor"), std::string::npos) << message;
  EXPECT_EQ(detect_with_tta(model, images, TtaMode::none).size(), 1u);
}

}  // namespace
}  // namespace autotimm
