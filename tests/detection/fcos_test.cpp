// FCOS target assignment and decoding on cases small enough to work out by hand.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/tasks/fcos.hpp"

namespace autotimm::fcos {
namespace {

std::vector<Level> one_level(std::int64_t size, double stride, std::pair<double, double> range = {-1, 64}) {
  return {{size, size, stride, range}};
}

Targets assign_boxes(const std::vector<Level>& levels, std::vector<std::vector<float>> boxes,
                     std::vector<std::int64_t> labels, std::vector<bool> crowd = {}, double radius = 1.5) {
  auto box_tensor = torch::zeros({static_cast<std::int64_t>(boxes.size()), 4});
  for (std::size_t i = 0; i < boxes.size(); ++i) box_tensor[static_cast<std::int64_t>(i)] = torch::tensor(boxes[i]);
  torch::Tensor crowd_tensor;
  if (!crowd.empty()) {
    crowd_tensor = torch::zeros({static_cast<std::int64_t>(crowd.size())}, torch::kBool);
    for (std::size_t i = 0; i < crowd.size(); ++i) crowd_tensor[static_cast<std::int64_t>(i)] = static_cast<bool>(crowd[i]);
  }
  return assign(levels, locations(levels), box_tensor, torch::tensor(labels, torch::kInt64), crowd_tensor,
                {.center_sampling_radius = radius});
}

TEST(FcosLocations, CellCentresLevelByLevelRowMajor) {
  const auto levels = make_levels({{2, 3}, {1, 2}}, {8, 16});
  const auto points = locations(levels);
  ASSERT_EQ(points.sizes(), (std::vector<std::int64_t>{8, 2}));
  const std::vector<std::pair<float, float>> expected = {{4, 4}, {12, 4}, {20, 4}, {4, 12}, {12, 12}, {20, 12},
                                                         {8, 8}, {24, 8}};
  for (std::int64_t i = 0; i < 8; ++i) {
    EXPECT_EQ(points[i][0].item<float>(), expected[static_cast<std::size_t>(i)].first) << i;
    EXPECT_EQ(points[i][1].item<float>(), expected[static_cast<std::size_t>(i)].second) << i;
  }
}

TEST(FcosLevels, DefaultRangesAndMessages) {
  const auto levels = make_levels({{8, 8}, {4, 4}, {2, 2}}, {8, 16, 32});
  EXPECT_EQ(levels[0].regress_range, (std::pair<double, double>{-1, 64}));
  EXPECT_EQ(levels[1].regress_range, (std::pair<double, double>{64, 128}));
  EXPECT_TRUE(std::isinf(levels[2].regress_range.second));  // the last level takes everything larger
  EXPECT_THROW(make_levels({{8, 8}}, {8, 16}), ConfigError);
  EXPECT_THROW(make_levels({{8, 8}, {4, 4}}, {8, 16}, {{-1, 64}}), ConfigError);
  EXPECT_THROW(make_levels({{8, 8}}, {8}, {{64, 64}}), ConfigError);
}

TEST(FcosAssign, LocationsInsideTheBoxLearnItsDistancesAndCenterness) {
  // 4x4 map of stride 8: points at 4, 12, 20, 28. The box [0, 16] x [0, 16] holds (4|12, 4|12).
  const auto targets = assign_boxes(one_level(4, 8), {{0, 0, 16, 16}}, {1});
  const std::vector<std::int64_t> positives = {0, 1, 4, 5};
  for (std::int64_t i = 0; i < 16; ++i) {
    const bool positive = std::find(positives.begin(), positives.end(), i) != positives.end();
    EXPECT_EQ(targets.labels[i].item<std::int64_t>(), positive ? 1 : -1) << i;
    if (!positive) {
      EXPECT_EQ(targets.centerness[i].item<float>(), 0.0f);
      EXPECT_EQ(targets.box_ltrb[i].abs().sum().item<float>(), 0.0f);
    }
  }
  // (4, 4): l 4, t 4, r 12, b 12; centerness sqrt(4/12 · 4/12) = 1/3.
  EXPECT_TRUE(targets.box_ltrb[0].equal(torch::tensor({4.0f, 4.0f, 12.0f, 12.0f})));
  EXPECT_NEAR(targets.centerness[0].item<float>(), 1.0 / 3.0, 1e-6);
  // (12, 4): l 12, t 4, r 4, b 12.
  EXPECT_TRUE(targets.box_ltrb[1].equal(torch::tensor({12.0f, 4.0f, 4.0f, 12.0f})));
  EXPECT_NEAR(targets.centerness[1].item<float>(), 1.0 / 3.0, 1e-6);
}

TEST(FcosAssign, CenterSamplingShrinksTheRegionToRadiusStrides) {
  // Box [0, 32]^2, centre 16. Radius 0.75 · 8 = 6: the open interval (10, 22) holds the points 12 and 20 of each
  // axis, four positives; radius 0 takes the whole box (16).
  const auto sampled = assign_boxes(one_level(4, 8), {{0, 0, 32, 32}}, {0}, {}, 0.75);
  EXPECT_EQ((sampled.labels >= 0).sum().item<std::int64_t>(), 4);
  EXPECT_EQ(sampled.labels[5].item<std::int64_t>(), 0);    // (12, 12)
  EXPECT_EQ(sampled.labels[10].item<std::int64_t>(), 0);   // (20, 20)
  EXPECT_EQ(sampled.labels[0].item<std::int64_t>(), -1);   // (4, 4): in the box, outside the centre
  const auto whole = assign_boxes(one_level(4, 8), {{0, 0, 32, 32}}, {0}, {}, 0.0);
  EXPECT_EQ((whole.labels >= 0).sum().item<std::int64_t>(), 16);
  // A radius of 0.25 · 8 = 2 around 16: (14, 18) holds no point.
  const auto none = assign_boxes(one_level(4, 8), {{0, 0, 32, 32}}, {0}, {}, 0.25);
  EXPECT_EQ((none.labels >= 0).sum().item<std::int64_t>(), 0);
}

TEST(FcosAssign, TheSmallestCandidateBoxWins) {
  // Both boxes hold (4, 4); the smaller (label 2) takes it; (12, 12) is only in the large one.
  const auto targets = assign_boxes(one_level(4, 8), {{0, 0, 24, 24}, {0, 0, 8, 8}}, {1, 2}, {}, 0.0);
  EXPECT_EQ(targets.labels[0].item<std::int64_t>(), 2);
  EXPECT_TRUE(targets.box_ltrb[0].equal(torch::tensor({4.0f, 4.0f, 4.0f, 4.0f})));
  EXPECT_NEAR(targets.centerness[0].item<float>(), 1.0, 1e-6);
  EXPECT_EQ(targets.labels[5].item<std::int64_t>(), 1);
}

TEST(FcosAssign, ObjectsGoToTheLevelOfTheirSize) {
  // Two levels: stride 8 takes distances up to 16, stride 16 above. A 16-pixel box (max distance 12) is learned on
  // level 0 only; a 32-pixel one (max distance >= 20 at every point of level 0) on level 1.
  const auto levels = make_levels({{4, 4}, {2, 2}}, {8, 16}, {{-1, 16}, {16, 1e9}});
  const auto small = assign_boxes(levels, {{0, 0, 16, 16}}, {0}, {}, 0.0);
  EXPECT_EQ((small.labels.slice(0, 0, 16) >= 0).sum().item<std::int64_t>(), 4);
  EXPECT_EQ((small.labels.slice(0, 16, 20) >= 0).sum().item<std::int64_t>(), 0);
  const auto large = assign_boxes(levels, {{0, 0, 32, 32}}, {0}, {}, 0.0);
  EXPECT_EQ((large.labels.slice(0, 0, 16) >= 0).sum().item<std::int64_t>(), 0);
  EXPECT_EQ((large.labels.slice(0, 16, 20) >= 0).sum().item<std::int64_t>(), 4);  // (8|24, 8|24): max distance 24
}

TEST(FcosAssign, CrowdRegionsAreIgnoredNeverLearned) {
  // The crowd box covers the left half; the object box is inside it and keeps its positives.
  const auto targets = assign_boxes(one_level(4, 8), {{0, 0, 16, 32}, {0, 0, 8, 8}}, {1, 0}, {true, false}, 0.0);
  EXPECT_EQ(targets.labels[0].item<std::int64_t>(), 0);   // (4, 4): the object
  EXPECT_EQ(targets.labels[1].item<std::int64_t>(), -2);  // (12, 4): in the crowd only
  EXPECT_EQ(targets.labels[12].item<std::int64_t>(), -2); // (4, 28)
  EXPECT_EQ(targets.labels[2].item<std::int64_t>(), -1);  // (20, 4): outside
  EXPECT_EQ((targets.labels == 1).sum().item<std::int64_t>(), 0);  // the crowd's class is never a target
}

TEST(FcosAssign, NoBoxesIsAllBackground) {
  const auto targets = assign(one_level(2, 8), locations(one_level(2, 8)), torch::zeros({0, 4}),
                              torch::zeros({0}, torch::kInt64), torch::Tensor());
  EXPECT_TRUE(targets.labels.eq(-1).all().item<bool>());
  EXPECT_THROW(assign(one_level(2, 8), locations(one_level(2, 8)), torch::zeros({2, 4}),
                      torch::zeros({3}, torch::kInt64), torch::Tensor()),
               ConfigError);
}

// Head outputs of one level, stride 8, 2x2 map, two classes, everything confidently negative.
std::vector<torch::Tensor> quiet_outputs(std::int64_t batch = 1) {
  return {torch::full({batch, 2, 2, 2}, -20.0), torch::zeros({batch, 4, 2, 2}), torch::full({batch, 1, 2, 2}, 20.0)};
}

TEST(FcosDecode, ScoresBoxesAndLabelsOfConfidentLocations) {
  auto outputs = quiet_outputs();
  // Location (row 0, col 1) = point (12, 4): class 1 at logit 2, centerness logit 1, box l 2 t 3 r 4 b 5.
  outputs[0][0][1][0][1] = 2.0;
  outputs[2][0][0][0][1] = 1.0;
  outputs[1][0].select(1, 0).select(1, 1).copy_(torch::tensor({2.0f, 3.0f, 4.0f, 5.0f}));
  const auto found = decode(outputs, one_level(2, 8), 16, 16);
  ASSERT_EQ(found.size(), 1u);
  ASSERT_EQ(found[0].boxes.size(0), 1);
  EXPECT_TRUE(found[0].boxes[0].allclose(torch::tensor({10.0f, 1.0f, 16.0f, 9.0f})));
  const double sigmoid2 = 1 / (1 + std::exp(-2.0)), sigmoid1 = 1 / (1 + std::exp(-1.0));
  EXPECT_NEAR(found[0].scores[0].item<float>(), std::sqrt(sigmoid2 * sigmoid1), 1e-6);
  EXPECT_EQ(found[0].labels[0].item<std::int64_t>(), 1);
}

TEST(FcosDecode, ClassAwareNmsThresholdAndCap) {
  auto outputs = quiet_outputs();
  // Points (4, 4) and (12, 4) predict nearly the same box [0, 0, 16, 8]; class 0 at both, class 1 at the second.
  outputs[1][0].select(1, 0).select(1, 0).copy_(torch::tensor({4.0f, 4.0f, 12.0f, 4.0f}));
  outputs[1][0].select(1, 0).select(1, 1).copy_(torch::tensor({12.0f, 4.0f, 4.0f, 4.0f}));
  outputs[0][0][0][0][0] = 3.0;
  outputs[0][0][0][0][1] = 2.0;  // suppressed by the better class-0 box
  outputs[0][0][1][0][1] = 1.0;  // another class: kept
  auto found = decode(outputs, one_level(2, 8), 16, 16);
  ASSERT_EQ(found[0].labels.size(0), 2);
  EXPECT_EQ(found[0].labels[0].item<std::int64_t>(), 0);
  EXPECT_EQ(found[0].labels[1].item<std::int64_t>(), 1);
  EXPECT_GT(found[0].scores[0].item<float>(), found[0].scores[1].item<float>());
  // A threshold above the class-1 score (sqrt(sigmoid(1) · ~1)) drops it; a cap of one keeps the best.
  const double class1_score = std::sqrt(1 / (1 + std::exp(-1.0)));
  EXPECT_NEAR(found[0].scores[1].item<float>(), class1_score, 1e-6);
  found = decode(outputs, one_level(2, 8), 16, 16, {.score_thresh = class1_score + 1e-3});
  EXPECT_EQ(found[0].labels.size(0), 1);
  found = decode(outputs, one_level(2, 8), 16, 16, {.max_detections = 1});
  EXPECT_EQ(found[0].labels.size(0), 1);
  // NMS off (threshold 1): both class-0 boxes stay.
  found = decode(outputs, one_level(2, 8), 16, 16, {.nms_thresh = 1.0});
  EXPECT_EQ(found[0].labels.size(0), 3);
}

TEST(FcosDecode, BoxesAreClippedToTheImageAndImagesKeptApart) {
  auto outputs = quiet_outputs(2);
  outputs[0][1][0][1][1] = 4.0;  // image 1, point (12, 12), class 0
  outputs[1][1].select(1, 1).select(1, 1).copy_(torch::tensor({20.0f, 2.0f, 20.0f, 2.0f}));
  const auto found = decode(outputs, one_level(2, 8), 16, 14);
  EXPECT_EQ(found[0].boxes.size(0), 0);
  ASSERT_EQ(found[1].boxes.size(0), 1);
  EXPECT_TRUE(found[1].boxes[0].allclose(torch::tensor({0.0f, 10.0f, 14.0f, 14.0f})));
  EXPECT_THROW(decode({outputs[0]}, one_level(2, 8), 16, 16), ConfigError);
}

}  // namespace
}  // namespace autotimm::fcos
