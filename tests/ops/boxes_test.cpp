// Box formats, areas, IoU and generalized IoU on hand-computed cases, and NMS (plain and class-aware) against a
// brute-force reference on random boxes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "autotimm/error.hpp"
#include "autotimm/ops/boxes.hpp"
#include "support/error_text.hpp"

namespace autotimm::ops {
namespace {

using autotimm::testing::error_text;

torch::Tensor boxes_of(std::vector<std::vector<double>> rows) {
  std::vector<double> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat, torch::kDouble).view({static_cast<std::int64_t>(rows.size()), 4});
}

TEST(Boxes, FormatsRoundTrip) {
  const auto xyxy = boxes_of({{10, 20, 30, 60}, {0, 0, 1, 1}});
  EXPECT_TRUE(torch::equal(box_convert(xyxy, BoxFormat::xyxy, BoxFormat::xywh), boxes_of({{10, 20, 20, 40}, {0, 0, 1, 1}})));
  EXPECT_TRUE(
      torch::equal(box_convert(xyxy, BoxFormat::xyxy, BoxFormat::cxcywh), boxes_of({{20, 40, 20, 40}, {0.5, 0.5, 1, 1}})));
  for (const auto format : {BoxFormat::xywh, BoxFormat::cxcywh}) {
    EXPECT_TRUE(torch::allclose(box_convert(box_convert(xyxy, BoxFormat::xyxy, format), format, BoxFormat::xyxy), xyxy));
  }
  EXPECT_TRUE(torch::equal(box_area(xyxy), torch::tensor({800.0, 1.0}, torch::kDouble)));
}

TEST(Boxes, IouAndGeneralizedIouByHand) {
  const auto a = boxes_of({{0, 0, 2, 2}, {0, 0, 1, 1}});
  const auto b = boxes_of({{1, 1, 3, 3}, {2, 2, 3, 3}, {0, 0, 2, 2}});
  const auto iou = box_iou(a, b);
  ASSERT_EQ(iou.sizes(), torch::IntArrayRef({2, 3}));
  EXPECT_DOUBLE_EQ(iou[0][0].item<double>(), 1.0 / 7.0);  // overlap 1, union 4 + 4 - 1
  EXPECT_DOUBLE_EQ(iou[0][1].item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(iou[0][2].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(iou[1][2].item<double>(), 0.25);
  const auto giou = generalized_box_iou(a, b);
  EXPECT_DOUBLE_EQ(giou[0][0].item<double>(), 1.0 / 7.0 - 2.0 / 9.0);  // enclosing 3×3 = 9, union 7
  EXPECT_DOUBLE_EQ(giou[1][1].item<double>(), -7.0 / 9.0);            // disjoint: enclosing 9, union 2
  EXPECT_DOUBLE_EQ(giou[0][2].item<double>(), 1.0);
  // Two empty boxes: 0, not NaN.
  const auto point = boxes_of({{5, 5, 5, 5}});
  EXPECT_DOUBLE_EQ(box_iou(point, point).item<double>(), 0.0);
  EXPECT_FALSE(torch::isnan(generalized_box_iou(point, point)).any().item<bool>());
}

TEST(Boxes, MatchedGeneralizedIouIsTheDiagonalAndHasGradients) {
  torch::manual_seed(0);
  const auto corner = torch::rand({16, 2}, torch::kDouble) * 50;
  auto a = torch::cat({corner, corner + torch::rand({16, 2}, torch::kDouble) * 30 + 1}, 1).requires_grad_();
  const auto other = torch::rand({16, 2}, torch::kDouble) * 50;
  const auto b = torch::cat({other, other + torch::rand({16, 2}, torch::kDouble) * 30 + 1}, 1);
  const auto matched = matched_generalized_box_iou(a, b);
  EXPECT_TRUE(torch::allclose(matched, generalized_box_iou(a, b).diagonal(), 1e-12, 1e-12));
  (1 - matched).sum().backward();
  ASSERT_TRUE(a.grad().defined());
  EXPECT_TRUE(torch::isfinite(a.grad()).all().item<bool>());
  EXPECT_GT(a.grad().abs().sum().item<double>(), 0.0);
}

TEST(Boxes, ClipAndSmallBoxes) {
  const auto boxes = boxes_of({{-5, 2, 50, 120}, {10, 10, 10.5, 30}, {1, 1, 9, 9}});
  EXPECT_TRUE(torch::equal(clip_boxes(boxes, 100, 40), boxes_of({{0, 2, 40, 100}, {10, 10, 10.5, 30}, {1, 1, 9, 9}})));
  EXPECT_TRUE(torch::equal(remove_small_boxes(boxes, 1.0), torch::tensor({0, 2}, torch::kLong)));
}

// The obvious version: take the best remaining box, drop every remaining box overlapping it too much, repeat.
std::vector<std::int64_t> brute_force_nms(const torch::Tensor& boxes, const torch::Tensor& scores, double threshold) {
  std::vector<std::int64_t> remaining(static_cast<std::size_t>(boxes.size(0)));
  std::iota(remaining.begin(), remaining.end(), 0);
  std::stable_sort(remaining.begin(), remaining.end(), [&](std::int64_t i, std::int64_t j) {
    return scores[i].item<double>() > scores[j].item<double>();
  });
  const auto iou = box_iou(boxes, boxes);
  std::vector<std::int64_t> keep;
  while (!remaining.empty()) {
    const auto best = remaining.front();
    keep.push_back(best);
    std::vector<std::int64_t> rest;
    for (std::size_t k = 1; k < remaining.size(); ++k) {
      if (iou[best][remaining[k]].item<double>() <= threshold) rest.push_back(remaining[k]);
    }
    remaining = std::move(rest);
  }
  return keep;
}

torch::Tensor random_boxes(std::int64_t n, double span) {
  const auto corner = torch::rand({n, 2}, torch::kDouble) * span;
  return torch::cat({corner, corner + torch::rand({n, 2}, torch::kDouble) * span / 3 + 0.5}, 1);
}

std::vector<std::int64_t> as_vector(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return {c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel()};
}

TEST(Nms, EqualsTheBruteForceVersion) {
  torch::manual_seed(1);
  for (const double threshold : {0.3, 0.5, 0.7}) {
    SCOPED_TRACE(threshold);
    const auto boxes = random_boxes(200, 100);
    const auto scores = torch::rand({200}, torch::kDouble);
    EXPECT_EQ(as_vector(nms(boxes, scores, threshold)), brute_force_nms(boxes, scores, threshold));
    // float32 boxes give the same choice here, and the order is best score first.
    const auto kept = nms(boxes.to(torch::kFloat), scores.to(torch::kFloat), threshold);
    EXPECT_TRUE(torch::all(scores.index_select(0, kept).diff() <= 0).item<bool>());
  }
  // Equal scores: input order.
  const auto same = boxes_of({{0, 0, 1, 1}, {10, 10, 11, 11}, {0, 0, 1, 1}});
  EXPECT_EQ(as_vector(nms(same, torch::ones({3}, torch::kDouble), 0.5)), (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(nms(torch::empty({0, 4}), torch::empty({0}), 0.5).numel(), 0);
}

TEST(Nms, ClassAwareInOnePassEqualsPerClassNms) {
  torch::manual_seed(2);
  const std::int64_t n = 300;
  auto boxes = random_boxes(n, 60) - 20;  // negative coordinates too
  const auto scores = torch::rand({n}, torch::kDouble);
  const auto classes = torch::randint(0, 5, {n}, torch::kLong);
  const auto kept = as_vector(batched_nms(boxes, scores, classes, 0.5));
  std::vector<std::int64_t> expected;
  for (std::int64_t c = 0; c < 5; ++c) {
    const auto members = torch::nonzero(classes == c).view(-1);
    for (const auto local : brute_force_nms(boxes.index_select(0, members), scores.index_select(0, members), 0.5)) {
      expected.push_back(members[local].item<std::int64_t>());
    }
  }
  std::stable_sort(expected.begin(), expected.end(), [&](std::int64_t i, std::int64_t j) {
    return scores[i].item<double>() > scores[j].item<double>();
  });
  EXPECT_EQ(kept, expected);
  // Identical boxes of two classes both survive.
  const auto twin = boxes_of({{0, 0, 5, 5}, {0, 0, 5, 5}});
  EXPECT_EQ(batched_nms(twin, torch::tensor({0.9, 0.8}, torch::kDouble), torch::tensor({0, 1}), 0.5).numel(), 2);
  EXPECT_EQ(batched_nms(twin, torch::tensor({0.9, 0.8}, torch::kDouble), torch::tensor({1, 1}), 0.5).numel(), 1);
}

TEST(Boxes, BadShapesSayWhat) {
  EXPECT_EQ(error_text([] { box_iou(torch::zeros({3, 5}), torch::zeros({1, 4})); }),
            "box_iou: expected boxes of shape [N, 4], got [3, 5]");
  EXPECT_EQ(error_text([] { box_area(torch::zeros({2, 4}, torch::kLong)); }),
            "box_area: expected floating-point boxes, got Long");
  EXPECT_EQ(error_text([] { nms(torch::zeros({2, 4}), torch::zeros({3}), 0.5); }),
            "nms: expected one score per box (2), got scores of 3 elements");
  EXPECT_EQ(error_text([] { matched_generalized_box_iou(torch::zeros({2, 4}), torch::zeros({3, 4})); }),
            "matched_generalized_box_iou: expected as many boxes in both sets, got 2 and 3");
}

}  // namespace
}  // namespace autotimm::ops
