// Attribution methods: GradCAM / GradCAM++ formulas by hand and on a classifier trained here (the map points at the
// square that decides the class), the stage layouts, Integrated Gradients' completeness, SmoothGrad's seeding, and
// the task targets of a classifier, a semantic segmentor and a detector.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/interpret/explanation_metrics.hpp"
#include "autotimm/interpret/grad_cam.hpp"
#include "autotimm/interpret/integrated_gradients.hpp"
#include "autotimm/interpret/smooth_grad.hpp"
#include "autotimm/interpret/targets.hpp"
#include "autotimm/tasks/object_detector.hpp"
#include "autotimm/tasks/semantic_segmentor.hpp"
#include "square_images.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

using namespace autotimm::interpret;
using testing::error_text;
using testing::trained_squares;

/// Fresh square images (not the training set) with their true class, as one batch.
struct SquareBatch {
  std::vector<testing::SquareSample> samples;
  torch::Tensor images;
};

SquareBatch fresh_squares(int per_class, std::uint64_t seed) {
  SampleRng rng(seed);
  SquareBatch batch;
  std::vector<torch::Tensor> inputs;
  for (int i = 0; i < per_class; ++i) {
    for (std::size_t k = 0; k < testing::square_classes().size(); ++k) {
      batch.samples.push_back(testing::random_square(k, rng));
      inputs.push_back(testing::square_input(batch.samples.back().image));
    }
  }
  batch.images = torch::cat(inputs);
  return batch;
}

TEST(GradCam, WeightsAndMapsAsThePapersSay) {
  // Two channels on a 1 × 2 map: A0 = [1, 2], A1 = [3, 0]; G0 = [1, 1], G1 = [-1, -3].
  const auto a = torch::tensor({1.0f, 2.0f, 3.0f, 0.0f}).view({1, 2, 1, 2});
  const auto g = torch::tensor({1.0f, 1.0f, -1.0f, -3.0f}).view({1, 2, 1, 2});
  // GradCAM: w = (1, -2), ReLU(1 · [1, 2] - 2 · [3, 0]) = ReLU([-5, 2]).
  const auto cam = cam_from_gradients(a, g, CamVariant::gradcam);
  EXPECT_TRUE(torch::allclose(cam, torch::tensor({0.0f, 2.0f}).view({1, 1, 2})));
  // GradCAM++: channel 0 alpha = 1 / (2 + 3 · 1) = 0.2 per position, w0 = 0.4; channel 1 has no positive gradient.
  const auto plus = cam_from_gradients(a, g, CamVariant::gradcampp);
  EXPECT_TRUE(torch::allclose(plus, torch::tensor({0.4f, 0.8f}).view({1, 1, 2})));
  // Scaling: per map, min → 0 and max → 1; a constant map is all zeros.
  const auto scaled = upsample_and_scale(torch::tensor({2.0f, 4.0f, 3.0f, 3.0f}).view({2, 1, 2}), 1, 2);
  EXPECT_TRUE(torch::allclose(scaled, torch::tensor({0.0f, 1.0f, 0.0f, 0.0f}).view({2, 1, 2})));
}

TEST(GradCam, EveryFamilysLayoutBecomesAGrid) {
  // ViT tokens: one class token, then a 2 × 2 patch grid row by row (32 × 32 images, patch 16).
  const auto tokens = torch::arange(10, torch::kFloat32).view({1, 5, 2});
  const auto grid = activation_to_grid(tokens, StageLayout::tokens, 16, 32, 32);
  ASSERT_EQ(grid.sizes(), (std::vector<std::int64_t>{1, 2, 2, 2}));
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      for (int d = 0; d < 2; ++d) {
        EXPECT_EQ(grid[0][d][i][j].item<float>(), tokens[0][1 + i * 2 + j][d].item<float>());
      }
    }
  }
  // Swin: NHWC.
  const auto nhwc = torch::rand({1, 2, 2, 3});
  EXPECT_TRUE(torch::equal(activation_to_grid(nhwc, StageLayout::nhwc, 16, 32, 32), nhwc.permute({0, 3, 1, 2})));
  // NCHW unchanged; anything else is refused with the layouts it tried.
  const auto nchw = torch::rand({1, 3, 2, 2});
  EXPECT_TRUE(torch::equal(activation_to_grid(nchw, StageLayout::nchw, 16, 32, 32), nchw));
  // A square NHWC map whose channels equal its side reads the same way: the family says its layout.
  const auto square = torch::rand({1, 2, 2, 2});
  EXPECT_TRUE(torch::equal(activation_to_grid(square, StageLayout::nhwc, 16, 32, 32), square.permute({0, 3, 1, 2})));
  EXPECT_THROW(activation_to_grid(torch::rand({1, 3, 7}), StageLayout::tokens, 16, 32, 32), ConfigError);
  EXPECT_THROW(activation_to_grid(torch::rand({1, 5, 7}), StageLayout::nchw, 16, 32, 32), ConfigError);
}

TEST(GradCam, TargetLayerByNameOrIndexAndUnknownNames) {
  auto& model = *trained_squares().model;
  const auto batch = fresh_squares(1, 3);
  const auto score = classifier_target(model, 0);
  // resnet10t's feature_info: act1 (the stem), layer1 … layer4.
  EXPECT_EQ(resolve_target_layer(*model.backbone(), ""), 4);
  EXPECT_EQ(resolve_target_layer(*model.backbone(), "layer3"), 3);
  EXPECT_EQ(resolve_target_layer(*model.backbone(), "-2"), 3);
  const auto by_name = grad_cam(*model.backbone(), score, batch.images, {.target_layer = "layer3"});
  const auto by_index = grad_cam(*model.backbone(), score, batch.images, {.target_layer = "3"});
  EXPECT_EQ(by_name.layer, "layer3");
  EXPECT_EQ(by_name.cam.sizes(), (std::vector<std::int64_t>{3, 4, 4}));  // stride 16 on 64 pixels
  EXPECT_EQ(by_name.heatmap.sizes(), (std::vector<std::int64_t>{3, 64, 64}));
  EXPECT_TRUE(torch::equal(by_name.cam, by_index.cam));
  EXPECT_GE(by_name.heatmap.min().item<float>(), 0.0f);
  EXPECT_LE(by_name.heatmap.max().item<float>(), 1.0f);
  const auto message = error_text([&] { grad_cam(*model.backbone(), score, batch.images, {.target_layer = "layer9"}); });
  EXPECT_NE(message.find("unknown target layer 'layer9'"), std::string::npos) << message;
  EXPECT_NE(message.find("3: layer3"), std::string::npos) << message;
  EXPECT_THROW(resolve_target_layer(*model.backbone(), "7"), ConfigError);
}

TEST(GradCam, SaysSoWhenTheForwardNeverReachesTheLayer) {
  auto& model = *trained_squares().model;
  // A score that never runs the backbone: the stage is never passed, as with a family that does not report stages.
  const ScoreFunction no_backbone = [](const at::Tensor& x) { return x.flatten(1).sum(1); };
  const auto message = error_text([&] { grad_cam(*model.backbone(), no_backbone, torch::rand({1, 3, 64, 64})); });
  EXPECT_NE(message.find("never passed stage 4 ('layer4')"), std::string::npos) << message;
  EXPECT_NE(message.find("--method ig"), std::string::npos) << message;
  const ScoreFunction two_scores = [&](const at::Tensor& x) { return model.forward(x).flatten(); };
  const auto shape = error_text([&] { grad_cam(*model.backbone(), two_scores, torch::rand({1, 3, 64, 64})); });
  EXPECT_NE(shape.find("one score per image"), std::string::npos) << shape;
}

TEST(GradCam, PointsAtTheSquareThatDecidesTheClass) {
  auto& model = *trained_squares().model;
  const auto batch = fresh_squares(4, 21);
  const auto predicted = predicted_classes(model, batch.images);
  int correct = 0;
  for (std::size_t i = 0; i < batch.samples.size(); ++i) {
    correct += predicted[static_cast<std::int64_t>(i)].item<std::int64_t>() ==
               static_cast<std::int64_t>(batch.samples[i].label);
  }
  ASSERT_GE(correct, 11) << "the tiny model did not learn the colours; explanations would mean nothing";
  for (const auto variant : {CamVariant::gradcam, CamVariant::gradcampp}) {
    int hits = 0;
    double mass_inside = 0.0;
    for (std::size_t i = 0; i < batch.samples.size(); ++i) {
      const auto& sample = batch.samples[i];
      const auto image = batch.images.narrow(0, static_cast<std::int64_t>(i), 1);
      const auto cam = grad_cam(*model.backbone(), classifier_target(model, static_cast<std::int64_t>(sample.label)),
                                image, {.target_layer = "layer2", .variant = variant});
      const auto heatmap = cam.heatmap[0];
      // layer2 is an 8 × 8 map (stride 8): the peak may sit half a cell off the square.
      hits += pointing_game_hit(heatmap, sample.box(), testing::kSquareImageSize, testing::kSquareImageSize, 4);
      const auto inside = heatmap.narrow(0, sample.y0, testing::kSquareSide).narrow(1, sample.x0, testing::kSquareSide);
      mass_inside += (inside.sum() / heatmap.sum().clamp_min(1e-12)).item<double>();
    }
    const auto n = static_cast<double>(batch.samples.size());
    // The square is 1/16 of the image: its share of the heat must be far above that.
    EXPECT_GE(hits, 10) << cam_variant_name(variant);
    EXPECT_GT(mass_inside / n, 0.25) << cam_variant_name(variant);
  }
}

TEST(IntegratedGradients, AttributionsAddUpToTheScoreDifference) {
  auto& model = *trained_squares().model;
  const auto batch = fresh_squares(1, 33);
  for (std::size_t i = 0; i < batch.samples.size(); ++i) {
    const auto& sample = batch.samples[i];
    const auto image = batch.images.narrow(0, static_cast<std::int64_t>(i), 1);
    const auto score = classifier_target(model, static_cast<std::int64_t>(sample.label));
    const auto ig = integrated_gradients(score, image, {.baseline = BaselineKind::black, .steps = 128});
    ASSERT_EQ(ig.attributions.sizes(), image.sizes());
    ASSERT_EQ(ig.heatmap.sizes(), (std::vector<std::int64_t>{1, 64, 64}));
    const double difference = (ig.scores[0] - ig.baseline_scores[0]).item<double>();
    const double total = ig.attributions.sum().item<double>();
    EXPECT_NEAR(ig.completeness_gap[0].item<double>(), total - difference, 1e-3);
    // ReLU networks are piecewise linear along the path, so the rule's error falls only as 1 / steps: at 128 steps
    // it stays under 3 % of the score difference (of 1 logit for differences below that).
    EXPECT_LE(std::abs(total - difference), 0.03 * std::max(std::abs(difference), 1.0))
        << "sum " << total << " vs score difference " << difference;
    // The scores are the model's own at both ends of the path.
    {
      torch::NoGradGuard no_grad;
      EXPECT_NEAR(ig.scores[0].item<double>(), score(image)[0].item<double>(), 1e-4);
    }
    // The attributions lean towards the square (1/16 of the pixels; the dark background matters too, black being
    // the baseline).
    const auto magnitude = ig.attributions[0].abs().sum(0);
    const auto inside = magnitude.narrow(0, sample.y0, testing::kSquareSide).narrow(1, sample.x0, testing::kSquareSide);
    EXPECT_GT((inside.sum() / magnitude.sum()).item<double>(), 0.1);
  }
}

TEST(IntegratedGradients, ExactForALinearScoreAndChecksItsInput) {
  const auto weights = torch::randn({1, 3, 4, 5});
  const ScoreFunction linear = [&](const at::Tensor& x) { return (x * weights).flatten(1).sum(1); };
  const auto images = torch::randn({2, 3, 4, 5});
  const auto baselines = torch::randn({2, 3, 4, 5});
  // Any step count integrates a constant gradient exactly: attributions = w · (x - x').
  const auto ig = integrated_gradients(linear, images, baselines, {.steps = 3, .batch_size = 2});
  EXPECT_TRUE(torch::allclose(ig.attributions, weights * (images - baselines), 1e-5, 1e-5));
  EXPECT_LT(ig.completeness_gap.abs().max().item<double>(), 1e-4);
  EXPECT_THROW(integrated_gradients(linear, images, baselines.narrow(0, 0, 1)), ConfigError);
  EXPECT_THROW(integrated_gradients(linear, images, baselines, {.steps = 0}), ConfigError);
  // The black baseline is the normalised black image: the heatmap is |w · (x - black)| summed over channels.
  const auto black = integrated_gradients(linear, images, {.baseline = BaselineKind::black, .steps = 1});
  const auto expected = make_baseline(BaselineKind::black, images);
  EXPECT_TRUE(torch::allclose(black.attributions, weights * (images - expected), 1e-5, 1e-5));
}

TEST(SmoothGrad, AveragesSeededNoisyCopies) {
  const auto images = torch::rand({2, 3, 8, 8});
  const ExplainFunction identity = [](const at::Tensor& x) { return x; };
  const auto a = smooth_grad(identity, images, {.samples = 4, .noise = 0.2, .seed = 7});
  const auto b = smooth_grad(identity, images, {.samples = 4, .noise = 0.2, .seed = 7});
  const auto c = smooth_grad(identity, images, {.samples = 4, .noise = 0.2, .seed = 8});
  EXPECT_EQ(a.sizes(), images.sizes());
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  // Zero noise: the method's own output; much noise averaged over many samples: the mean stays the input's.
  EXPECT_TRUE(torch::allclose(smooth_grad(identity, images, {.samples = 3, .noise = 0.0}), images));
  const auto many = smooth_grad(identity, images, {.samples = 400, .noise = 0.5, .seed = 1});
  const double range = (images.max() - images.min()).item<double>();
  EXPECT_LT((many - images).abs().mean().item<double>(), 0.5 * range * 0.1);
  EXPECT_GT((a - images).abs().mean().item<double>(), 0.01);
  EXPECT_THROW(smooth_grad(identity, images, {.samples = 0}), ConfigError);
  // Around GradCAM: one map per image.
  auto& model = *trained_squares().model;
  const auto batch = fresh_squares(1, 5);
  const auto score = classifier_target(model, 2);
  const auto maps = smooth_grad(
      [&](const at::Tensor& noisy) { return grad_cam(*model.backbone(), score, noisy).heatmap; }, batch.images,
      {.samples = 3, .seed = 2});
  EXPECT_EQ(maps.sizes(), (std::vector<std::int64_t>{3, 64, 64}));
}

TEST(Targets, ClassifierLogitOrProbability) {
  auto& model = *trained_squares().model;
  const auto batch = fresh_squares(1, 9);
  torch::NoGradGuard no_grad;
  const auto logits = model.forward(batch.images);
  EXPECT_TRUE(torch::allclose(classifier_target(model, 1)(batch.images), logits.select(1, 1)));
  EXPECT_TRUE(torch::allclose(classifier_target(model, 1, ClassScore::probability)(batch.images),
                              logits.softmax(1).select(1, 1)));
  EXPECT_TRUE(torch::equal(predicted_classes(model, batch.images), logits.argmax(1)));
  const auto message = error_text([&] { classifier_target(model, 3); });
  EXPECT_NE(message.find("class 3 is out of range"), std::string::npos) << message;
}

TEST(Targets, SegmentorScoresItsClassOverTheRegion) {
  SemanticSegmentor model(SemanticSegmentorOptions{.backbone = "resnet10t",
                                                   .num_classes = 3,
                                                   .head_type = "fcn",
                                                   .head_options = {{"channels", 16}},
                                                   .pretrained = false});
  torch::manual_seed(0);
  const auto image = torch::randn({1, 3, 32, 32});
  const auto labels = predicted_label_map(model, image);
  ASSERT_EQ(labels.sizes(), (std::vector<std::int64_t>{32, 32}));
  const auto c = labels[0][0].item<std::int64_t>();
  const auto region = labels == c;
  const auto score = segmentation_target(model, c, region);
  {
    torch::NoGradGuard no_grad;
    const auto logits = model.forward(image)[0][c];
    EXPECT_NEAR(score(image)[0].item<double>(), logits.masked_select(region).sum().item<double>(), 1e-3);
  }
  // Gradients reach the pixels, and Integrated Gradients runs on it.
  const auto x = image.clone().requires_grad_(true);
  const auto gradient = torch::autograd::grad({score(x).sum()}, {x})[0];
  EXPECT_GT(gradient.abs().sum().item<double>(), 0.0);
  const auto ig = integrated_gradients(score, image, {.steps = 4});
  EXPECT_EQ(ig.heatmap.sizes(), (std::vector<std::int64_t>{1, 32, 32}));
  EXPECT_THROW(segmentation_target(model, c, torch::zeros({32, 32}, torch::kBool)), ConfigError);
}

TEST(Targets, DetectorBoxScoreSumsTheLocationsThatAgreeWithTheBox) {
  ObjectDetector model(ObjectDetectorOptions{.backbone = "resnet10t",
                                             .num_classes = 3,
                                             .fpn_channels = 32,
                                             .head_num_convs = 1,
                                             .strides = {8, 16, 32, 64},
                                             .pretrained = false});
  torch::manual_seed(1);
  const auto image = torch::randn({1, 3, 64, 64});
  model.eval();
  std::vector<torch::Tensor> outputs;
  {
    torch::NoGradGuard no_grad;
    outputs = model.forward(image);
  }
  // The box of level 0's location (row 3, column 4), decoded as FCOS does: the explained box.
  const auto ltrb = outputs[1][0];
  const double x = 4 * 8 + 4, y = 3 * 8 + 4;
  const std::array<double, 4> box = {std::clamp(x - ltrb[0][3][4].item<double>(), 0.0, 64.0),
                                     std::clamp(y - ltrb[1][3][4].item<double>(), 0.0, 64.0),
                                     std::clamp(x + ltrb[2][3][4].item<double>(), 0.0, 64.0),
                                     std::clamp(y + ltrb[3][3][4].item<double>(), 0.0, 64.0)};
  const std::int64_t label = 2;
  // Brute force: every location of every level, its decoded box, its IoU with the box, its class probability. The
  // sum over the locations at IoU >= 0.5, and the probability at the best IoU.
  const auto brute_force = [&](const std::array<double, 4>& target) {
    double sum = 0.0, best_iou = -1.0, best_probability = 0.0;
    const double strides[] = {8, 16, 32, 64};
    for (std::size_t l = 0; l < 4; ++l) {
      const auto cls = outputs[3 * l][0][label].sigmoid();
      const auto d = outputs[3 * l + 1][0];
      for (std::int64_t i = 0; i < cls.size(0); ++i) {
        for (std::int64_t j = 0; j < cls.size(1); ++j) {
          const double cx = static_cast<double>(j) * strides[l] + strides[l] / 2;
          const double cy = static_cast<double>(i) * strides[l] + strides[l] / 2;
          const double bx1 = std::clamp(cx - d[0][i][j].item<double>(), 0.0, 64.0);
          const double by1 = std::clamp(cy - d[1][i][j].item<double>(), 0.0, 64.0);
          const double bx2 = std::clamp(cx + d[2][i][j].item<double>(), 0.0, 64.0);
          const double by2 = std::clamp(cy + d[3][i][j].item<double>(), 0.0, 64.0);
          const double iw = std::max(0.0, std::min(bx2, target[2]) - std::max(bx1, target[0]));
          const double ih = std::max(0.0, std::min(by2, target[3]) - std::max(by1, target[1]));
          const double inter = iw * ih;
          const double uni = (bx2 - bx1) * (by2 - by1) + (target[2] - target[0]) * (target[3] - target[1]) - inter;
          const double iou = uni > 0 ? inter / uni : 0.0;
          if (iou >= 0.5) sum += cls[i][j].item<double>();
          if (iou > best_iou) {
            best_iou = iou;
            best_probability = cls[i][j].item<double>();
          }
        }
      }
    }
    return std::array<double, 3>{sum, best_iou, best_probability};
  };
  const auto expected = brute_force(box);
  const auto score = detection_target(model, image, box, label);
  {
    torch::NoGradGuard no_grad;
    EXPECT_GT(expected[0], 0.0);  // the location the box came from agrees with it (IoU 1)
    EXPECT_NEAR(score(image)[0].item<double>(), expected[0], 1e-4);
    // A sliver no location's box agrees with: the best-overlapping location alone.
    const std::array<double, 4> sliver = {30.0, 30.0, 31.0, 30.5};
    const auto lone = brute_force(sliver);
    ASSERT_LT(lone[1], 0.5);
    EXPECT_NEAR(detection_target(model, image, sliver, label)(image)[0].item<double>(), lone[2], 1e-5);
  }
  const auto x_in = image.clone().requires_grad_(true);
  const auto gradient = torch::autograd::grad({score(x_in).sum()}, {x_in})[0];
  EXPECT_GT(gradient.abs().sum().item<double>(), 0.0);
  EXPECT_THROW(detection_target(model, torch::randn({2, 3, 64, 64}), box, label), ConfigError);
}

TEST(GradCam, ViTTokensGiveAPatchGrid) {
  ImageClassifier model(ImageClassifierOptions{.backbone = "vit_tiny_patch16_224",
                                               .num_classes = 3,
                                               .pretrained = false,
                                               .backbone_args = {{"img_size", 32}, {"depth", 2}}});
  model.eval();
  torch::manual_seed(2);
  const auto images = torch::randn({2, 3, 32, 32});
  const auto cam = grad_cam(*model.backbone(), classifier_target(model, 1), images, {.target_layer = "blocks.1"});
  EXPECT_EQ(cam.layer, "blocks.1");
  EXPECT_EQ(cam.cam.sizes(), (std::vector<std::int64_t>{2, 2, 2}));
  EXPECT_EQ(cam.heatmap.sizes(), (std::vector<std::int64_t>{2, 32, 32}));
  EXPECT_TRUE(torch::isfinite(cam.heatmap).all().item<bool>());
}

}  // namespace
}  // namespace autotimm
