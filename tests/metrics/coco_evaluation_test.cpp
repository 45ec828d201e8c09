// COCO detection evaluation: hand-worked cases with known AP / AR (arithmetic in the comments), crowd, area ranges,
// max detections, categories, ties, thresholds, merging, input errors, and a brute-force re-implementation of
// pycocotools' loops that random images must agree with.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <set>

#include "autotimm/error.hpp"
#include "autotimm/metrics/detection_metrics.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

using testing::error_text;

constexpr double kEps = 2.220446049250313e-16;  // numpy.spacing(1), in COCO's precision denominator
// A lone true positive has precision 1 / (1 + eps), one ulp below 1 (pycocotools prints it as 1.000).
const double kLoneTp = 1.0 / (1.0 + kEps);

DetectionGroundTruth gt(std::int64_t category, double x1, double y1, double x2, double y2, bool crowd = false) {
  return {.category = category, .box = {x1, y1, x2, y2}, .area = (x2 - x1) * (y2 - y1), .iscrowd = crowd};
}

Detection det(std::int64_t category, double x1, double y1, double x2, double y2, double score) {
  return {.category = category, .box = {x1, y1, x2, y2}, .score = score};
}

void expect_stats(const CocoSummary& s, const std::array<double, 12>& expected) {
  const auto got = s.stats();
  for (std::size_t i = 0; i < 12; ++i) {
    EXPECT_NEAR(got[i], expected[i], 1e-12) << coco_metric_names()[i];
  }
}

TEST(CocoEvaluation, MetricNames) {
  const auto& names = coco_metric_names();
  EXPECT_EQ(names[0], "map");
  EXPECT_EQ(names[2], "map_75");
  EXPECT_EQ(names[8], "mar_100");
  EXPECT_EQ(names[11], "mar_large");
  CocoSummary s;
  s.map_50 = 0.25;
  const auto values = s.values();
  ASSERT_EQ(values.size(), 12u);
  EXPECT_EQ(values.at("map_50"), 0.25);
  EXPECT_EQ(values.at("mar_small"), -1.0);
}

TEST(CocoEvaluation, BoxIouFollowsCocoBbIou) {
  // Detections: identical, half overlap, touching edge, disjoint. Ground truths: [0,0,10,10] and the same as crowd.
  const std::vector<std::array<double, 4>> dets = {{0, 0, 10, 10}, {5, 0, 15, 10}, {10, 0, 20, 10}, {50, 50, 60, 60}};
  const std::vector<std::array<double, 4>> gts = {{0, 0, 10, 10}, {0, 0, 10, 10}};
  const auto iou = coco_box_iou(dets, gts, {0, 1});
  ASSERT_EQ(iou.size(), 8u);
  EXPECT_EQ(iou[0], 1.0);
  EXPECT_EQ(iou[1], 1.0);
  EXPECT_EQ(iou[2], 50.0 / 150.0);  // intersection 50, union 100 + 100 - 50 (no +1 on widths)
  EXPECT_EQ(iou[3], 0.5);           // crowd: intersection / detection area = 50 / 100
  EXPECT_EQ(iou[4], 0.0);           // touching: width 0 is no overlap
  EXPECT_EQ(iou[5], 0.0);
  EXPECT_EQ(iou[6], 0.0);
  EXPECT_EQ(iou[7], 0.0);
  // Crowd: a small detection inside a large crowd region has IoU 1.
  EXPECT_EQ(coco_box_iou({{110, 110, 120, 120}}, {{100, 100, 200, 200}}, {1})[0], 1.0);
}

TEST(CocoEvaluation, PerfectDetectorScoresOne) {
  // Six images; each has one object per category, small (10²), medium (50²) or large (100²) in turn, so every
  // (category, area) holds two ground truths and every image one per category: precision reaches 2 / (2 + eps) == 1
  // exactly and every AR (even at one detection per image) is 1.
  CocoEvaluator evaluator;
  const double sizes[3] = {10, 50, 100};
  for (int i = 0; i < 6; ++i) {
    const double s1 = sizes[i % 3], s2 = sizes[(i + 1) % 3];
    evaluator.add(i, {gt(1, 5, 5, 5 + s1, 5 + s1), gt(2, 200, 200, 200 + s2, 200 + s2)},
                  {det(1, 5, 5, 5 + s1, 5 + s1, 0.9 - 0.1 * i), det(2, 200, 200, 200 + s2, 200 + s2, 0.3 + 0.1 * i)});
  }
  const auto s = evaluator.summary();
  for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(s.stats()[i], 1.0) << coco_metric_names()[i];
  EXPECT_EQ(s.per_class_ap, (std::map<std::int64_t, double>{{1, 1.0}, {2, 1.0}}));
  EXPECT_EQ(s.num_images, 6);
}

TEST(CocoEvaluation, TwoGroundTruthsThreeDetectionsByHand) {
  // A = [0,0,10,10], B = [20,0,30,10] (areas 100: small). Detections, by score:
  //   d1 .9 [0,0,10,8]   IoU(A) = 80 / 100 = .8
  //   d2 .8 [20,0,30,6]  IoU(B) = 60 / 100 = .6
  //   d3 .7 [0,0,10,9]   IoU(A) = 90 / 100 = .9
  // t = .50 .55 .60: d1→A, d2→B (.6 >= .6 counts), d3: A taken → FP. TP TP FP: rc .5 1 1, pr ~1 1 2/3,
  //   interpolated 1 1 2/3 → AP = 1.
  // t = .65 .70 .75 .80: d1→A (.8 >= .8), d2 FP, d3 FP (A taken). rc .5 .5 .5, pr 1/(1+eps) 1/2 1/3: recall
  //   thresholds 0, .01 … .50 (51 of 101) read 1/(1+eps), the rest 0 → AP = 51 / (101 (1 + eps)), AR = .5.
  // t = .85 .90: d1 FP, d2 FP, d3→A. rc 0 0 .5, pr 0 0 1/3 → interpolated 1/3 1/3 1/3; 51 thresholds → AP = 17/101,
  //   AR = .5.
  // t = .95: nothing matches → AP 0, AR 0.
  // mAP = (3 + 4·51/101 + 2·17/101) / 10 = 541 / 1010; AR@100 = (3·1 + 6·.5) / 10 = .6.
  // AR@1 keeps d1 only: .5 for t <= .8 (7 thresholds), 0 above → .35.
  CocoEvaluator evaluator;
  evaluator.add(1, {gt(7, 0, 0, 10, 10), gt(7, 20, 0, 30, 10)},
                {det(7, 0, 0, 10, 9, 0.7), det(7, 0, 0, 10, 8, 0.9), det(7, 20, 0, 30, 6, 0.8)});
  const auto s = evaluator.summary();
  const double half = 51.0 / (101.0 * (1 + kEps));
  const double map = (3 + 4 * half + 2 * 17.0 / 101.0) / 10;
  EXPECT_NEAR(map, 541.0 / 1010.0, 1e-12);
  expect_stats(s, {map, 1.0, half, map, -1, -1, 0.35, 0.6, 0.6, 0.6, -1, -1});
  EXPECT_NEAR(s.per_class_ap.at(7), map, 1e-12);
}

TEST(CocoEvaluation, FalsePositiveAboveTruePositive) {
  {
    // One ground truth; FP .9 then TP .8: rc 0 1, pr 0 1/2 → interpolated .5 .5; every recall threshold reads .5.
    // AR@1 sees only the FP → 0.
    CocoEvaluator evaluator;
    evaluator.add(1, {gt(1, 0, 0, 10, 10)}, {det(1, 50, 50, 60, 60, 0.9), det(1, 0, 0, 10, 10, 0.8)});
    expect_stats(evaluator.summary(), {0.5, 0.5, 0.5, 0.5, -1, -1, 0, 1, 1, 1, -1, -1});
  }
  {
    // Two ground truths; TP .9, FP .8, TP .7: rc .5 .5 1, pr 1/(1+eps) 1/2 2/3 → interpolated 1/(1+eps) 2/3 2/3.
    // Thresholds 0 … .50 (51) read 1/(1+eps), .51 … 1 (50) read 2/3 → AP = (51/(1+eps) + 50·2/3) / 101.
    CocoEvaluator evaluator;
    evaluator.add(1, {gt(1, 0, 0, 10, 10), gt(1, 20, 0, 30, 10)},
                  {det(1, 0, 0, 10, 10, 0.9), det(1, 50, 50, 60, 60, 0.8), det(1, 20, 0, 30, 10, 0.7)});
    const double ap = (51 * kLoneTp + 50 * 2.0 / 3.0) / 101;
    expect_stats(evaluator.summary(), {ap, ap, ap, ap, -1, -1, 0.5, 1, 1, 1, -1, -1});
  }
}

TEST(CocoEvaluation, CrowdAbsorbsDuplicates) {
  // Two regular ground truths found by TPs (.9, .5); three detections (.8 .7 .6) inside a crowd region match it
  // (IoU = intersection / detection area = 1) and are ignored, not FPs: TP Ig Ig Ig TP → pr ~1 … 1 → AP 1.
  const std::vector<Detection> dets = {det(1, 0, 0, 10, 10, 0.9), det(1, 110, 110, 120, 120, 0.8),
                                       det(1, 130, 130, 140, 140, 0.7), det(1, 150, 150, 160, 160, 0.6),
                                       det(1, 20, 0, 30, 10, 0.5)};
  {
    CocoEvaluator evaluator;
    evaluator.add(1, {gt(1, 0, 0, 10, 10), gt(1, 100, 100, 200, 200, /*crowd=*/true), gt(1, 20, 0, 30, 10)}, dets);
    const auto s = evaluator.summary();
    expect_stats(s, {1, 1, 1, 1, -1, -1, 0.5, 1, 1, 1, -1, -1});
    EXPECT_EQ(s.map, 1.0);
  }
  {
    // The same region as a regular ground truth: the duplicates are FPs (IoU .01) and it is missed.
    // TP FP FP FP TP with 3 ground truths: rc 1/3 1/3 1/3 1/3 2/3, pr 1/(1+eps) 1/2 1/3 1/4 2/5 → interpolated
    // 1/(1+eps) .4 .4 .4 .4; thresholds 0 … .33 (34) read 1/(1+eps), .34 … .66 (33) read .4, the rest 0.
    CocoEvaluator evaluator;
    evaluator.add(1, {gt(1, 0, 0, 10, 10), gt(1, 100, 100, 200, 200), gt(1, 20, 0, 30, 10)}, dets);
    const double ap = (34 * kLoneTp + 33 * 0.4) / 101;
    // Small: the 100² ground truth is out of range (ignored) and the FPs are small: the same curve over 2 gts:
    // rc .5 .5 .5 .5 1 → thresholds 0 … .5 (51) read 1/(1+eps), .51 … 1 (50) read .4.
    const double ap_small = (51 * kLoneTp + 50 * 0.4) / 101;
    // Large: only the 100² ground truth; every detection is small and unmatched → ignored; no detection → AP 0.
    expect_stats(evaluator.summary(),
                 {ap, ap, ap, ap_small, -1, 0, 1.0 / 3, 2.0 / 3, 2.0 / 3, 1, -1, 0});
  }
}

TEST(CocoEvaluation, AreaRangesSplitObjects) {
  // S = [0,0,10,10] (100, small), M = [100,100,150,150] (2500, medium), both found exactly; an unmatched large
  // detection (40000) scores highest. No large ground truth → large AP / AR are -1.
  // all:    FP TP TP → pr 0 1/2 2/3 → interpolated 2/3 everywhere → AP 2/3.
  // small:  L unmatched and out of range → ignored; M's detection matches the ignored M → ignored: Ig TP Ig,
  //         pr 0 1/(1+eps) 1/(1+eps) → AP 1/(1+eps). medium: the same with S ignored.
  CocoEvaluator evaluator;
  evaluator.add(3, {gt(1, 0, 0, 10, 10), gt(1, 100, 100, 150, 150)},
                {det(1, 200, 200, 400, 400, 0.95), det(1, 0, 0, 10, 10, 0.9), det(1, 100, 100, 150, 150, 0.8)});
  expect_stats(evaluator.summary(), {2.0 / 3, 2.0 / 3, 2.0 / 3, kLoneTp, kLoneTp, -1, 0, 1, 1, 1, 1, -1});

  // Bounds are inclusive: an object of area exactly 32² is both small and medium; 96² both medium and large.
  CocoEvaluator edges;
  edges.add(1, {gt(1, 0, 0, 32, 32)}, {det(1, 0, 0, 32, 32, 0.5)});
  expect_stats(edges.summary(), {kLoneTp, kLoneTp, kLoneTp, kLoneTp, kLoneTp, -1, 1, 1, 1, 1, 1, -1});
  CocoEvaluator edges96;
  edges96.add(1, {gt(1, 0, 0, 96, 96)}, {det(1, 0, 0, 96, 96, 0.5)});
  expect_stats(edges96.summary(), {kLoneTp, kLoneTp, kLoneTp, -1, kLoneTp, kLoneTp, 1, 1, 1, -1, 1, 1});

  // The ground truth's annotation area, not its box, decides its range.
  CocoEvaluator by_area;
  auto g = gt(1, 0, 0, 10, 10);
  g.area = 50000;
  by_area.add(1, {g}, {det(1, 0, 0, 10, 10, 0.5)});
  const auto s = by_area.summary();
  EXPECT_EQ(s.map_small, -1);
  EXPECT_NEAR(s.map_large, kLoneTp, 1e-15);
}

TEST(CocoEvaluation, MaxDetectionsTruncate) {
  // 12 objects, each found exactly, scores descending: AR@1 = 1/12, AR@10 = 10/12, AR@100 = 1.
  CocoEvaluator evaluator;
  std::vector<DetectionGroundTruth> gts;
  std::vector<Detection> dets;
  for (int i = 0; i < 12; ++i) {
    gts.push_back(gt(1, 20.0 * i, 0, 20.0 * i + 10, 10));
    dets.push_back(det(1, 20.0 * i, 0, 20.0 * i + 10, 10, 1.0 - 0.01 * i));
  }
  evaluator.add(1, gts, dets);
  const auto s = evaluator.summary();
  EXPECT_NEAR(s.mar_1, 1.0 / 12, 1e-15);
  EXPECT_NEAR(s.mar_10, 10.0 / 12, 1e-15);
  EXPECT_EQ(s.mar_100, 1.0);
  EXPECT_EQ(s.map, 1.0);

  // 101 objects found: only the 100 best detections of an image and category count → AR@100 = 100/101; AP reads
  // precision 1 up to recall 100/101 (thresholds 0 … .99: 100 of 101) → 100/101.
  // The cut is per category: a second category's 101 detections are kept alongside.
  gts.clear();
  dets.clear();
  for (int c = 1; c <= 2; ++c) {
    for (int i = 0; i < 101; ++i) {
      gts.push_back(gt(c, 20.0 * i, 0, 20.0 * i + 10, 10));
      dets.push_back(det(c, 20.0 * i, 0, 20.0 * i + 10, 10, 1.0 - 0.001 * i));
    }
  }
  CocoEvaluator many;
  many.add(1, gts, dets);
  const auto m = many.summary();
  EXPECT_NEAR(m.mar_100, 100.0 / 101, 1e-15);
  EXPECT_NEAR(m.map, 100.0 / 101, 1e-15);
  EXPECT_NEAR(m.per_class_ap.at(2), 100.0 / 101, 1e-15);
}

TEST(CocoEvaluation, CategoriesWithoutDetectionsOrGroundTruths) {
  // Category 1: two ground truths, no detection → AP 0, AR 0. Category 2: detections only → -1, left out of the
  // means. Category 3: two ground truths found → 1. mAP = (0 + 1) / 2.
  CocoEvaluator evaluator;
  evaluator.add(1, {gt(1, 0, 0, 10, 10), gt(1, 20, 0, 30, 10), gt(3, 50, 50, 60, 60), gt(3, 70, 50, 80, 60)},
                {det(2, 0, 0, 10, 10, 0.99), det(2, 20, 0, 30, 10, 0.98), det(3, 50, 50, 60, 60, 0.5),
                 det(3, 70, 50, 80, 60, 0.4)});
  const auto s = evaluator.summary();
  EXPECT_EQ(s.per_class_ap, (std::map<std::int64_t, double>{{1, 0.0}, {2, -1.0}, {3, 1.0}}));
  expect_stats(s, {0.5, 0.5, 0.5, 0.5, -1, -1, 0.25, 0.5, 0.5, 0.5, -1, -1});

  // With category_ids, others are dropped (not even -1) and listed categories without objects show -1.
  CocoEvaluator listed({.category_ids = {4, 3, 1}});
  listed.add(1, {gt(1, 0, 0, 10, 10), gt(1, 20, 0, 30, 10), gt(3, 50, 50, 60, 60), gt(3, 70, 50, 80, 60)},
             {det(2, 0, 0, 10, 10, 0.99), det(3, 50, 50, 60, 60, 0.5), det(3, 70, 50, 80, 60, 0.4)});
  const auto l = listed.summary();
  EXPECT_EQ(l.per_class_ap, (std::map<std::int64_t, double>{{1, 0.0}, {3, 1.0}, {4, -1.0}}));
  EXPECT_EQ(l.map, 0.5);
}

TEST(CocoEvaluation, TiedScoresKeepInputOrder) {
  // Two detections tied at .5 on one ground truth: FP first → AP .5 (as FalsePositiveAboveTruePositive); TP first →
  // rc 1 1, pr 1/(1+eps) 1/2 → every threshold reads 1/(1+eps).
  const auto fp = det(1, 50, 50, 60, 60, 0.5), tp = det(1, 0, 0, 10, 10, 0.5);
  CocoEvaluator fp_first, tp_first;
  fp_first.add(1, {gt(1, 0, 0, 10, 10)}, {fp, tp});
  tp_first.add(1, {gt(1, 0, 0, 10, 10)}, {tp, fp});
  EXPECT_NEAR(fp_first.summary().map, 0.5, 1e-15);
  EXPECT_NEAR(tp_first.summary().map, kLoneTp, 1e-15);
  EXPECT_NEAR(fp_first.summary().mar_1, 0.0, 1e-15);  // the per-image cut keeps the first of the tie
  EXPECT_NEAR(tp_first.summary().mar_1, 1.0, 1e-15);

  // Across images, ties keep ascending image order (pycocotools' sorted imgIds), whatever the order of add().
  CocoEvaluator across;
  across.add(9, {gt(1, 0, 0, 10, 10)}, {tp});
  across.add(4, {}, {fp});
  EXPECT_NEAR(across.summary().map, 0.5, 1e-15);  // image 4's FP sorts before image 9's TP
  CocoEvaluator across2;
  across2.add(4, {gt(1, 0, 0, 10, 10)}, {tp});
  across2.add(9, {}, {fp});
  EXPECT_NEAR(across2.summary().map, kLoneTp, 1e-15);
}

TEST(CocoEvaluation, IouExactlyAtThresholdCounts) {
  // IoU .5 exactly (50 / 100): a TP at t = .5 only → AP50 = 1/(1+eps), AP75 = 0, mAP = AP50 / 10.
  CocoEvaluator at50;
  at50.add(1, {gt(1, 0, 0, 10, 10)}, {det(1, 0, 0, 10, 5, 0.5)});
  const auto s = at50.summary();
  EXPECT_NEAR(s.map_50, kLoneTp, 1e-15);
  EXPECT_EQ(s.map_75, 0.0);
  EXPECT_NEAR(s.map, kLoneTp / 10, 1e-15);
  EXPECT_NEAR(s.mar_100, 0.1, 1e-15);
  // IoU .75 exactly (75 / 100): TP for t = .50 … .75 (6 thresholds).
  CocoEvaluator at75;
  at75.add(1, {gt(1, 0, 0, 10, 10)}, {det(1, 0, 0, 10, 7.5, 0.5)});
  const auto t = at75.summary();
  EXPECT_NEAR(t.map_75, kLoneTp, 1e-15);
  EXPECT_NEAR(t.map, 6 * kLoneTp / 10, 1e-15);
  EXPECT_NEAR(t.mar_100, 0.6, 1e-15);
}

TEST(CocoEvaluation, EmptyEvaluator) {
  CocoEvaluator evaluator;
  auto s = evaluator.summary();
  for (const double v : s.stats()) EXPECT_EQ(v, -1.0);
  EXPECT_TRUE(s.per_class_ap.empty());
  EXPECT_EQ(s.num_images, 0);
  // Images without objects count as images and change nothing.
  evaluator.add(1, {}, {});
  s = evaluator.summary();
  for (const double v : s.stats()) EXPECT_EQ(v, -1.0);
  EXPECT_EQ(s.num_images, 1);
  evaluator.reset();
  EXPECT_EQ(evaluator.num_images(), 0);
}

// ---- random images and the brute-force reference ----

struct Image {
  std::int64_t id;
  std::vector<DetectionGroundTruth> gts;
  std::vector<Detection> dets;
};

std::vector<Image> random_images(unsigned seed, int count, int categories) {
  std::mt19937 rng(seed);
  const auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  const auto half = [&](double lo, double hi) { return std::round(uniform(lo, hi) * 2) / 2; };  // exact arithmetic
  const auto score = [&] { return std::round(uniform(0, 1) * 20) / 20; };                        // many ties
  std::vector<Image> images;
  for (int i = 0; i < count; ++i) {
    Image image{.id = 1000 - 7 * i, .gts = {}, .dets = {}};
    for (int c = 0; c < categories; ++c) {
      const int n = static_cast<int>(uniform(0, 6));
      for (int j = 0; j < n; ++j) {
        const double size = std::exp(uniform(std::log(4.0), std::log(200.0)));
        const double x = half(0, 400), y = half(0, 400), w = std::round(size), h = std::round(size * uniform(0.5, 2));
        auto g = gt(c, x, y, x + w, y + h, uniform(0, 1) < 0.1);
        if (uniform(0, 1) < 0.2) g.area = w * h * uniform(0.3, 1.0);  // a segment smaller than its box
        image.gts.push_back(g);
        const int copies = uniform(0, 1) < 0.7 ? 1 + static_cast<int>(uniform(0, 2.5)) : 0;
        for (int k = 0; k < copies; ++k) {
          const double jx = half(-0.2 * w, 0.2 * w), jy = half(-0.2 * h, 0.2 * h);
          image.dets.push_back(det(c, x + jx, y + jy, x + jx + w + half(-3, 3) + 3, y + jy + h, score()));
        }
      }
      const int fps = static_cast<int>(uniform(0, 4));
      for (int j = 0; j < fps; ++j) {
        const double x = half(0, 400), y = half(0, 400), s = half(2, 150);
        image.dets.push_back(det(c, x, y, x + s, y + s, score()));
      }
    }
    std::shuffle(image.dets.begin(), image.dets.end(), rng);
    images.push_back(std::move(image));
  }
  // One crowded image: 130 detections of category 0, beyond the per-image cut of 100.
  Image crowded{.id = 5, .gts = {}, .dets = {}};
  for (int j = 0; j < 40; ++j) crowded.gts.push_back(gt(0, 10.0 * j, 0, 10.0 * j + 8, 8 + j));
  for (int j = 0; j < 130; ++j) {
    const double x = 10.0 * (j % 45) + half(-2, 2);
    crowded.dets.push_back(det(0, x, 0, x + 8, 8 + half(0, 40), score()));
  }
  images.push_back(std::move(crowded));
  return images;
}

// pycocotools' evaluate / accumulate / summarize written out as its Python loops, one setting at a time.
struct Reference {
  static constexpr double kAreas[4][2] = {{0, 1e10}, {0, 1024}, {1024, 9216}, {9216, 1e10}};
  std::vector<Image> images;  // ascending id
  std::vector<std::int64_t> categories;
  double thresholds[10];
  double recall_thresholds[101];

  explicit Reference(std::vector<Image> input) : images(std::move(input)) {
    std::sort(images.begin(), images.end(), [](const Image& a, const Image& b) { return a.id < b.id; });
    std::set<std::int64_t> cats;
    for (const auto& im : images) {
      for (const auto& g : im.gts) cats.insert(g.category);
      for (const auto& d : im.dets) cats.insert(d.category);
    }
    categories.assign(cats.begin(), cats.end());
    for (int i = 0; i < 10; ++i) thresholds[i] = i * ((0.95 - 0.5) / 9) + 0.5;
    thresholds[9] = 0.95;
    for (int i = 0; i < 101; ++i) recall_thresholds[i] = i * 0.01;
    recall_thresholds[100] = 1.0;
  }

  static double iou(const std::array<double, 4>& d, const std::array<double, 4>& g, bool crowd) {
    const double dx = d[0], dy = d[1], dw = d[2] - d[0], dh = d[3] - d[1];
    const double gx = g[0], gy = g[1], gw = g[2] - g[0], gh = g[3] - g[1];
    const double w = std::min(dx + dw, gx + gw) - std::max(dx, gx);
    const double h = std::min(dy + dh, gy + gh) - std::max(dy, gy);
    if (w <= 0 || h <= 0) return 0;
    const double inter = w * h;
    return inter / (crowd ? dw * dh : dw * dh + gw * gh - inter);
  }

  struct EvalImg {
    std::vector<double> scores;
    std::vector<std::vector<int>> matched, ignored;  // [T][D]
    int regular_gts = 0;
  };

  // evaluateImg(image, category, area, maxDet = 100); empty optional when it has no objects.
  std::optional<EvalImg> evaluate(const Image& im, std::int64_t cat, int a) const {
    std::vector<DetectionGroundTruth> gts;
    std::vector<Detection> dts;
    for (const auto& g : im.gts) if (g.category == cat) gts.push_back(g);
    for (const auto& d : im.dets) if (d.category == cat) dts.push_back(d);
    if (gts.empty() && dts.empty()) return std::nullopt;
    const double lo = kAreas[a][0], hi = kAreas[a][1];
    std::vector<int> gt_ignore;
    for (const auto& g : gts) gt_ignore.push_back(g.iscrowd || g.area < lo || g.area > hi);
    std::vector<int> gorder(gts.size());
    std::iota(gorder.begin(), gorder.end(), 0);
    std::stable_sort(gorder.begin(), gorder.end(), [&](int x, int y) { return gt_ignore[x] < gt_ignore[y]; });
    std::vector<int> dorder(dts.size());
    std::iota(dorder.begin(), dorder.end(), 0);
    std::stable_sort(dorder.begin(), dorder.end(), [&](int x, int y) { return -dts[x].score < -dts[y].score; });
    if (dorder.size() > 100) dorder.resize(100);
    EvalImg e;
    for (int d : dorder) e.scores.push_back(dts[d].score);
    for (int g : gorder) e.regular_gts += gt_ignore[g] == 0;
    const std::size_t D = dorder.size(), G = gorder.size();
    for (int t = 0; t < 10; ++t) {
      std::vector<int> gtm(G, 0), dtm(D, 0), dtig(D, 0);
      for (std::size_t di = 0; di < D; ++di) {
        const auto& d = dts[dorder[di]];
        double best = std::min(thresholds[t], 1 - 1e-10);
        int m = -1;
        for (std::size_t gi = 0; gi < G; ++gi) {
          const auto& g = gts[gorder[gi]];
          if (gtm[gi] > 0 && !g.iscrowd) continue;
          if (m > -1 && gt_ignore[gorder[m]] == 0 && gt_ignore[gorder[gi]] == 1) break;
          const double v = iou(d.box, g.box, g.iscrowd);
          if (v < best) continue;
          best = v;
          m = static_cast<int>(gi);
        }
        if (m == -1) continue;
        dtig[di] = gt_ignore[gorder[m]];
        dtm[di] = 1;
        gtm[m] = 1;
      }
      for (std::size_t di = 0; di < D; ++di) {
        const auto& b = dts[dorder[di]].box;
        const double area = (b[2] - b[0]) * (b[3] - b[1]);
        if (dtm[di] == 0 && (area < lo || area > hi)) dtig[di] = 1;
      }
      e.matched.push_back(dtm);
      e.ignored.push_back(dtig);
    }
    return e;
  }

  // precision [T][R] and recall [T] of one category, area and maxDet; nullopt when COCO leaves -1.
  struct Curve {
    std::vector<std::vector<double>> precision;
    std::vector<double> recall;
  };
  std::optional<Curve> accumulate(std::int64_t cat, int a, std::size_t max_det) const {
    std::vector<EvalImg> E;
    for (const auto& im : images) {
      if (auto e = evaluate(im, cat, a)) E.push_back(*e);
    }
    if (E.empty()) return std::nullopt;
    std::vector<double> scores;
    std::vector<std::vector<int>> matched(10), ignored(10);
    int npig = 0;
    for (const auto& e : E) {
      for (std::size_t i = 0; i < std::min(max_det, e.scores.size()); ++i) {
        scores.push_back(e.scores[i]);
        for (int t = 0; t < 10; ++t) {
          matched[t].push_back(e.matched[t][i]);
          ignored[t].push_back(e.ignored[t][i]);
        }
      }
      npig += e.regular_gts;
    }
    if (npig == 0) return std::nullopt;
    std::vector<std::size_t> inds(scores.size());
    std::iota(inds.begin(), inds.end(), 0);
    std::stable_sort(inds.begin(), inds.end(), [&](std::size_t x, std::size_t y) { return -scores[x] < -scores[y]; });
    Curve curve;
    for (int t = 0; t < 10; ++t) {
      std::vector<double> rc, pr;
      double tp = 0, fp = 0;
      for (const auto i : inds) {
        tp += matched[t][i] && !ignored[t][i];
        fp += !matched[t][i] && !ignored[t][i];
        rc.push_back(tp / npig);
        pr.push_back(tp / (fp + tp + kEps));
      }
      curve.recall.push_back(rc.empty() ? 0 : rc.back());
      for (std::size_t i = pr.size(); i-- > 1;) pr[i - 1] = std::max(pr[i - 1], pr[i]);
      std::vector<double> q(101, 0.0);
      for (int r = 0; r < 101; ++r) {
        const auto it = std::lower_bound(rc.begin(), rc.end(), recall_thresholds[r]);
        if (it == rc.end()) break;
        q[r] = pr[static_cast<std::size_t>(it - rc.begin())];
      }
      curve.precision.push_back(q);
    }
    return curve;
  }

  static double mean(const std::vector<double>& v) {
    if (v.empty()) return -1;
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  }

  double ap(int a, int only_t, std::optional<std::int64_t> only_cat = std::nullopt) const {
    std::vector<double> values;
    for (const auto c : categories) {
      if (only_cat && c != *only_cat) continue;
      if (auto curve = accumulate(c, a, 100)) {
        for (int t = 0; t < 10; ++t) {
          if (only_t >= 0 && t != only_t) continue;
          values.insert(values.end(), curve->precision[t].begin(), curve->precision[t].end());
        }
      }
    }
    return mean(values);
  }
  double ar(int a, std::size_t max_det) const {
    std::vector<double> values;
    for (const auto c : categories) {
      if (auto curve = accumulate(c, a, max_det)) values.insert(values.end(), curve->recall.begin(), curve->recall.end());
    }
    return mean(values);
  }
  std::array<double, 12> stats() const {
    return {ap(0, -1), ap(0, 0), ap(0, 5), ap(1, -1), ap(2, -1), ap(3, -1),
            ar(0, 1),  ar(0, 10), ar(0, 100), ar(1, 100), ar(2, 100), ar(3, 100)};
  }
};

TEST(CocoEvaluation, MatchesBruteForceOnRandomImages) {
  for (unsigned seed : {1u, 2u, 3u}) {
    const auto images = random_images(seed, 20, 3);
    CocoEvaluator evaluator;
    for (const auto& im : images) evaluator.add(im.id, im.gts, im.dets);
    const auto s = evaluator.summary();
    const Reference ref(images);
    const auto expected = ref.stats();
    for (std::size_t i = 0; i < 12; ++i) {
      EXPECT_NEAR(s.stats()[i], expected[i], 1e-12) << "seed " << seed << ", " << coco_metric_names()[i];
      EXPECT_GT(s.stats()[i], 0.0) << "seed " << seed << ", " << coco_metric_names()[i] << ": the data should cover it";
    }
    ASSERT_EQ(s.per_class_ap.size(), ref.categories.size());
    for (const auto c : ref.categories) EXPECT_NEAR(s.per_class_ap.at(c), ref.ap(0, -1, c), 1e-12) << c;
  }
}

TEST(CocoEvaluation, MergeEqualsOneEvaluator) {
  const auto images = random_images(7, 20, 3);
  CocoEvaluator all, first, second;
  for (std::size_t i = 0; i < images.size(); ++i) {
    all.add(images[i].id, images[i].gts, images[i].dets);
    (i % 2 ? first : second).add(images[i].id, images[i].gts, images[i].dets);
  }
  second.merge(first);
  const auto a = all.summary(), b = second.summary();
  EXPECT_EQ(a.stats(), b.stats());  // bit for bit
  EXPECT_EQ(a.per_class_ap, b.per_class_ap);
  EXPECT_EQ(b.num_images, static_cast<std::int64_t>(images.size()));

  CocoEvaluator other({.category_ids = {0, 1}});
  EXPECT_EQ(error_text([&] { second.merge(other); }),
            "coco evaluation: merge: 'category_ids': expected the same options on both evaluators, got 0 and 2 "
            "categories; build every rank's evaluator with the same options");
  EXPECT_EQ(error_text([&] { second.merge(first); }),
            "coco evaluation: merge: image 867: 'image_id': expected each image in one evaluator only, got it in "
            "both; give each rank a disjoint shard of the images (no padding duplicates)");
}

TEST(CocoEvaluation, PreparedInputsGiveTheSameResult) {
  // The seam: the same objects reduced to IoU matrices by hand, through add_prepared.
  const auto images = random_images(11, 8, 2);
  CocoEvaluator boxes, prepared;
  for (const auto& im : images) {
    boxes.add(im.id, im.gts, im.dets);
    std::vector<CocoImageCategory> cells;
    for (std::int64_t c = 0; c < 2; ++c) {
      CocoImageCategory cell{.category = c};
      std::vector<std::array<double, 4>> gb, db;
      for (const auto& g : im.gts) {
        if (g.category != c) continue;
        cell.gt_area.push_back(g.area);
        cell.gt_crowd.push_back(g.iscrowd);
        gb.push_back(g.box);
      }
      std::vector<Detection> dets;
      for (const auto& d : im.dets) if (d.category == c) dets.push_back(d);
      std::stable_sort(dets.begin(), dets.end(), [](const Detection& x, const Detection& y) { return x.score > y.score; });
      if (dets.size() > 100) dets.resize(100);
      for (const auto& d : dets) {
        cell.detection_score.push_back(d.score);
        cell.detection_area.push_back((d.box[2] - d.box[0]) * (d.box[3] - d.box[1]));
        db.push_back(d.box);
      }
      cell.iou = coco_box_iou(db, gb, cell.gt_crowd);
      cells.push_back(cell);
    }
    prepared.add_prepared(im.id, cells);
  }
  EXPECT_EQ(boxes.summary().stats(), prepared.summary().stats());
  EXPECT_EQ(boxes.summary().per_class_ap, prepared.summary().per_class_ap);

  CocoEvaluator bad;
  EXPECT_EQ(error_text([&] {
              bad.add_prepared(1, {{.category = 3, .gt_area = {1.0}, .gt_crowd = {0}, .detection_score = {0.5},
                                    .detection_area = {1.0}, .iou = {}}});
            }),
            "coco evaluation: image 1, category 3: expected gt_crowd of 1, detection_area of 1 and iou of 1 (D × G) "
            "entries, got 1, 1 and 0; fill every field for the same objects");
  EXPECT_EQ(error_text([&] {
              bad.add_prepared(1, {{.category = 3, .detection_score = {0.1, 0.5}, .detection_area = {1.0, 1.0}}});
            }),
            "coco evaluation: image 1, category 3: 'detection_score': expected at most 100 finite scores sorted "
            "descending, got 2 scores; sort (stable) and keep the first 100 before add_prepared");
  EXPECT_EQ(error_text([&] {
              bad.add_prepared(1, {{.category = 3, .gt_area = {-1.0}, .gt_crowd = {0}}});
            }),
            "coco evaluation: image 1, category 3: 'gt_area' / 'detection_area': expected finite values >= 0 "
            "(pixels²), got a negative or non-finite one; pass object areas");
  EXPECT_EQ(error_text([&] { bad.add_prepared(1, {{.category = 3}, {.category = 3}}); }),
            "coco evaluation: image 1, category 3: 'category': expected one entry per category, got it twice; merge "
            "its objects");
  EXPECT_EQ(bad.num_images(), 0);
}

TEST(CocoEvaluation, InvalidInputsAreNamed) {
  CocoEvaluator evaluator;
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(error_text([&] { evaluator.add(3, {gt(1, 0, nan, 10, 10)}, {}); }),
            "coco evaluation: image 3, ground truth 0: 'box': expected finite x1, y1, x2, y2 with x1 <= x2 and "
            "y1 <= y2 (pixels), got [0, nan, 10, 10]; pass corner coordinates, not x, y, w, h");
  EXPECT_EQ(error_text([&] { evaluator.add(3, {}, {det(1, 0, 0, 10, 10, 0.5), det(1, 20, 0, 10, 10, 0.5)}); }),
            "coco evaluation: image 3, detection 1: 'box': expected finite x1, y1, x2, y2 with x1 <= x2 and "
            "y1 <= y2 (pixels), got [20, 0, 10, 10]; pass corner coordinates, not x, y, w, h");
  EXPECT_EQ(error_text([&] { evaluator.add(3, {}, {det(1, 0, 0, inf, 10, 0.5)}); }),
            "coco evaluation: image 3, detection 0: 'box': expected finite x1, y1, x2, y2 with x1 <= x2 and "
            "y1 <= y2 (pixels), got [0, 0, inf, 10]; pass corner coordinates, not x, y, w, h");
  EXPECT_EQ(error_text([&] { evaluator.add(3, {}, {det(1, 0, 0, 10, 10, nan)}); }),
            "coco evaluation: image 3, detection 0: 'score': expected a finite number, got nan; check the model's "
            "outputs for NaN / Inf");
  auto negative = gt(1, 0, 0, 10, 10);
  negative.area = -4;
  EXPECT_EQ(error_text([&] { evaluator.add(3, {negative}, {}); }),
            "coco evaluation: image 3, ground truth 0: 'area': expected a finite value >= 0 (pixels²), got -4; pass "
            "the annotation's area, or the box area (w * h)");
  EXPECT_EQ(evaluator.num_images(), 0);  // nothing was added by the failed calls
  evaluator.add(3, {gt(1, 0, 0, 10, 10)}, {});
  EXPECT_EQ(error_text([&] { evaluator.add(3, {}, {}); }),
            "coco evaluation: image 3: 'image_id': expected an image not yet added, got one added before; add each "
            "image once per evaluation (reset() between epochs), and give every image its own id");
  EXPECT_EQ(error_text([] { CocoEvaluator({.category_ids = {1, 2, 1}}); }),
            "coco evaluation: 'category_ids': expected distinct ids, got 1 twice; list each category once");
}

}  // namespace
}  // namespace autotimm
