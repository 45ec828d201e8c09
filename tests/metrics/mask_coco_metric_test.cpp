// The COCO epoch metric of an instance segmentor: mask AP worked out by hand where it differs from box AP, crowd
// regions absorbing detections by mask, area ranges (annotation area for ground truth, mask area for detections),
// box numbers equal to CocoMetric's, rectangle masks giving exactly the box numbers (random images), the exchange
// between two ranks (a repeat counted once), malformed rows refused, repeats, reset and input errors.
#include "autotimm/metrics/mask_coco_metric.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <random>

#include "autotimm/error.hpp"
#include "support/error_text.hpp"
#include "support/two_rank_gather.hpp"

namespace autotimm {
namespace {

using autotimm::testing::error_text;

constexpr int kHeight = 48;
constexpr int kWidth = 64;

/// The filled rectangle of columns x1..x2-1 and rows y1..y2-1: the mask of box [x1, y1, x2, y2].
Rle rect(int x1, int y1, int x2, int y2, int height = kHeight, int width = kWidth) {
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(height) * width, 0);
  for (int y = y1; y < y2; ++y) {
    for (int x = x1; x < x2; ++x) pixels[static_cast<std::size_t>(y) * width + x] = 1;
  }
  return rle_encode(pixels.data(), height, width);
}

DetectionGroundTruth truth(std::int64_t category, std::array<double, 4> box, double area, bool crowd = false) {
  return {.category = category, .box = box, .area = area, .iscrowd = crowd};
}

Detection found(std::int64_t category, std::array<double, 4> box, double score) {
  return {.category = category, .box = box, .score = score};
}

struct Sample {
  std::int64_t id;
  std::vector<DetectionGroundTruth> truths;
  std::vector<Rle> truth_masks;
  std::vector<Detection> detections;
  std::vector<Rle> detection_masks;
};

void add(MaskCocoMetric& metric, const Sample& s) {
  metric.update(s.id, s.truths, s.truth_masks, s.detections, s.detection_masks);
}

// Two cats. Image 1: the box is found exactly, its mask covers half the object (IoU 200 / 400 = 0.5). Image 2: the
// box is shifted by half its width (IoU 200 / 600 = 1/3), its mask is exact (IoU 1).
std::vector<Sample> half_and_shifted() {
  return {
      {1, {truth(0, {0, 0, 20, 20}, 400)}, {rect(0, 0, 20, 20)}, {found(0, {0, 0, 20, 20}, 0.9)}, {rect(0, 0, 10, 20)}},
      {2,
       {truth(0, {30, 10, 50, 30}, 400)},
       {rect(30, 10, 50, 30)},
       {found(0, {40, 10, 60, 30}, 0.8)},
       {rect(30, 10, 50, 30)}},
  };
}

// One cat and a crowd of cats. Detections, best first: one inside the crowd (crowd IoU 100 / 100 = 1), one half in
// it (crowd IoU 50 / 100 = 0.5), then the cat exactly.
Sample crowd_image(std::int64_t id) {
  return {id,
          {truth(0, {0, 0, 10, 10}, 100), truth(0, {20, 0, 60, 40}, 1600, true)},
          {rect(0, 0, 10, 10), rect(20, 0, 60, 40)},
          {found(0, {20, 0, 30, 10}, 0.97), found(0, {15, 0, 25, 10}, 0.95), found(0, {0, 0, 10, 10}, 0.9)},
          {rect(20, 0, 30, 10), rect(15, 0, 25, 10), rect(0, 0, 10, 10)}};
}

// A cat of 100 pixels annotated with area 5000 (medium), found exactly; a false positive before it whose box is
// medium (50 × 48 = 2400) but whose mask is small (100 pixels).
Sample area_image(std::int64_t id) {
  return {id,
          {truth(0, {0, 0, 10, 10}, 5000)},
          {rect(0, 0, 10, 10)},
          {found(0, {14, 0, 64, 48}, 0.95), found(0, {0, 0, 10, 10}, 0.9)},
          {rect(40, 0, 50, 10), rect(0, 0, 10, 10)}};
}

TEST(MaskCocoMetric, MaskAndBoxApDifferAsWorkedOutByHand) {
  MaskCocoMetric metric({"cat", "dog"});
  EXPECT_TRUE(metric.compute("val").empty());
  for (const auto& s : half_and_shifted()) add(metric, s);
  const auto v = metric.compute("val");
  EXPECT_EQ(v.size(), 2u * (12u + 2u));
  for (const auto name : coco_metric_names()) {
    EXPECT_TRUE(v.count("val/" + std::string(name))) << name;
    EXPECT_TRUE(v.count("val/mask_" + std::string(name))) << name;
  }
  // Boxes, at every threshold: the hit (0.9) then the miss (0.8) of 2 objects: precision 1 up to recall 0.5, read at
  // the 51 recall points 0, .01, ..., .50 of 101.
  const double box_ap = 51.0 / 101.0;
  EXPECT_NEAR(v.at("val/map"), box_ap, 1e-12);
  EXPECT_NEAR(v.at("val/map_50"), box_ap, 1e-12);
  EXPECT_NEAR(v.at("val/map_75"), box_ap, 1e-12);
  EXPECT_NEAR(v.at("val/map_small"), box_ap, 1e-12);  // area 400 <= 32²
  EXPECT_EQ(v.at("val/map_medium"), -1.0);
  EXPECT_NEAR(v.at("val/mar_100"), 0.5, 1e-12);
  EXPECT_NEAR(v.at("val/ap/cat"), box_ap, 1e-12);
  EXPECT_EQ(v.at("val/ap/dog"), -1.0);
  // Masks: at .50 both are hits (AP 1); from .55 on the half mask is a false positive ranked first, then the exact
  // one: precision 0.5 at recall 0 and 0.5 → 51 · 0.5 / 101. Mean over the 10 thresholds: (1 + 9 · 25.5 / 101) / 10.
  const double mask_ap_high = 25.5 / 101.0;
  const double mask_map = (1.0 + 9.0 * mask_ap_high) / 10.0;
  EXPECT_NEAR(v.at("val/mask_map"), mask_map, 1e-12);
  EXPECT_NEAR(v.at("val/mask_map_50"), 1.0, 1e-12);
  EXPECT_NEAR(v.at("val/mask_map_75"), mask_ap_high, 1e-12);
  EXPECT_NEAR(v.at("val/mask_map_small"), mask_map, 1e-12);
  EXPECT_EQ(v.at("val/mask_map_medium"), -1.0);
  EXPECT_EQ(v.at("val/mask_map_large"), -1.0);
  // Recall: 1 at .50, 0.5 above → (1 + 9 · 0.5) / 10; one detection per image, so the same for 1, 10 and 100.
  EXPECT_NEAR(v.at("val/mask_mar_1"), 0.55, 1e-12);
  EXPECT_NEAR(v.at("val/mask_mar_100"), 0.55, 1e-12);
  EXPECT_NEAR(v.at("val/mask_mar_small"), 0.55, 1e-12);
  EXPECT_EQ(v.at("val/mask_mar_large"), -1.0);
  EXPECT_NEAR(v.at("val/mask_ap/cat"), mask_map, 1e-12);
  EXPECT_EQ(v.at("val/mask_ap/dog"), -1.0);
  EXPECT_EQ(metric.num_images(), 2);
  EXPECT_EQ(metric.mask_summary().num_images, 2);
}

TEST(MaskCocoMetric, CrowdMasksAbsorbDetectionsByTheirMaskArea) {
  MaskCocoMetric metric({"cat"});
  add(metric, crowd_image(1));
  const CocoSummary s = metric.mask_summary();
  // At .50 both detections on the crowd are ignored and the cat is a hit: AP 1. From .55 the half-in one (0.5) is a
  // false positive before the hit: precision 0.5 everywhere → AP 0.5. The one inside the crowd never counts.
  EXPECT_NEAR(s.map_50, 1.0, 1e-12);
  EXPECT_NEAR(s.map_75, 0.5, 1e-12);
  EXPECT_NEAR(s.map, (1.0 + 9 * 0.5) / 10, 1e-12);
  EXPECT_NEAR(s.mar_100, 1.0, 1e-12);
  EXPECT_NEAR(s.per_class_ap.at(0), s.map, 1e-15);
}

TEST(MaskCocoMetric, AreaRangesUseTheAnnotationAreaAndTheDetectionMaskArea) {
  MaskCocoMetric metric({"cat"});
  add(metric, area_image(1));
  const CocoSummary masks = metric.mask_summary();
  // All areas: the false positive first, then the hit → precision 0.5 at every recall point.
  EXPECT_NEAR(masks.map, 0.5, 1e-12);
  // The cat is medium by its annotation (5000), though its mask has 100 pixels: no small object at all.
  EXPECT_EQ(masks.map_small, -1.0);
  EXPECT_EQ(masks.mar_small, -1.0);
  // Medium: the false positive's mask (100 pixels) is outside the range, so it is ignored, not counted.
  EXPECT_NEAR(masks.map_medium, 1.0, 1e-12);
  EXPECT_NEAR(masks.mar_medium, 1.0, 1e-12);
  EXPECT_EQ(masks.map_large, -1.0);
  // Boxes read the false positive by its box (2400, medium): it counts there.
  const CocoSummary boxes = metric.box_summary();
  EXPECT_NEAR(boxes.map_medium, 0.5, 1e-12);
  EXPECT_EQ(boxes.map_small, -1.0);

  // The other way round: a false positive whose box is small (100) but whose mask is medium (24 × 48 = 1152) counts
  // against the medium cat (1600) on masks, not on boxes.
  MaskCocoMetric reverse({"cat"});
  reverse.update(2, {truth(0, {0, 0, 40, 40}, 1600)}, {rect(0, 0, 40, 40)},
                 {found(0, {50, 0, 60, 10}, 0.95), found(0, {0, 0, 40, 40}, 0.9)},
                 {rect(40, 0, 64, 48), rect(0, 0, 40, 40)});
  EXPECT_NEAR(reverse.mask_summary().map_medium, 0.5, 1e-12);
  EXPECT_NEAR(reverse.box_summary().map_medium, 1.0, 1e-12);
}

TEST(MaskCocoMetric, BoxNumbersAreCocoMetrics) {
  MaskCocoMetric metric({"cat", "dog"});
  CocoMetric reference({"cat", "dog"});
  std::vector<Sample> samples = half_and_shifted();
  samples.push_back(crowd_image(3));
  samples.push_back(area_image(4));
  samples.push_back({5, {truth(1, {5, 5, 25, 45}, 800)}, {rect(5, 5, 25, 45)}, {}, {}});
  for (const auto& s : samples) {
    add(metric, s);
    reference.update(s.id, s.truths, s.detections);
  }
  EXPECT_EQ(metric.box_summary().stats(), reference.summary().stats());
  EXPECT_EQ(metric.box_summary().per_class_ap, reference.summary().per_class_ap);
  const auto mine = metric.compute("test");
  for (const auto& [name, value] : reference.compute("test")) {
    ASSERT_TRUE(mine.count(name)) << name;
    EXPECT_EQ(mine.at(name), value) << name;
  }
  EXPECT_EQ(mine.size(), 2 * reference.compute("test").size());
}

// Masks that are exactly the boxes' rectangles, ground-truth areas equal to the box areas: every IoU, area and
// ordering is the same as for boxes, so the mask numbers must be CocoEvaluator::add's, to the bit. Random images with
// crowds, tied scores, a label outside the classes and one image with 120 detections of a class (cut to 100).
TEST(MaskCocoMetric, RectangleMasksGiveExactlyTheBoxNumbers) {
  std::mt19937 rng(13);
  const auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const auto random_box = [&]() -> std::array<int, 4> {
    const int x1 = uniform(0, kWidth - 1), y1 = uniform(0, kHeight - 1);
    return {x1, y1, uniform(x1 + 1, kWidth), uniform(y1 + 1, kHeight)};
  };
  MaskCocoMetric metric({"a", "b", "c"});
  CocoEvaluator reference({.category_ids = {0, 1, 2}});
  for (std::int64_t id = 0; id < 12; ++id) {
    Sample s{id * 7 + 3, {}, {}, {}, {}};
    const int num_truths = uniform(0, 6), num_found = id == 5 ? 120 : uniform(0, 10);
    for (int i = 0; i < num_truths; ++i) {
      const auto b = random_box();
      const double area = double(b[2] - b[0]) * (b[3] - b[1]);
      s.truths.push_back(
          truth(uniform(0, 2), {double(b[0]), double(b[1]), double(b[2]), double(b[3])}, area, uniform(0, 4) == 0));
      s.truth_masks.push_back(rect(b[0], b[1], b[2], b[3]));
    }
    for (int i = 0; i < num_found; ++i) {
      // Mostly a ground truth moved by a few pixels (matches at some thresholds), else anywhere.
      auto b = random_box();
      std::int64_t category = id == 5 ? 0 : (uniform(0, 9) == 0 ? 7 : uniform(0, 2));
      if (!s.truths.empty() && uniform(0, 2) != 0) {
        const auto& g = s.truths[static_cast<std::size_t>(uniform(0, num_truths - 1))];
        const int x1 = std::clamp(int(g.box[0]) + uniform(-2, 2), 0, kWidth - 1);
        const int y1 = std::clamp(int(g.box[1]) + uniform(-2, 2), 0, kHeight - 1);
        b = {x1, y1, std::clamp(int(g.box[2]) + uniform(-2, 2), x1 + 1, kWidth),
             std::clamp(int(g.box[3]) + uniform(-2, 2), y1 + 1, kHeight)};
        if (id != 5) category = g.category;
      }
      s.detections.push_back(
          found(category, {double(b[0]), double(b[1]), double(b[2]), double(b[3])}, uniform(1, 9) / 10.0));
      s.detection_masks.push_back(rect(b[0], b[1], b[2], b[3]));
    }
    add(metric, s);
    reference.add(s.id, s.truths, s.detections);
  }
  const CocoSummary expected = reference.summary();
  ASSERT_GT(expected.map, 0.0);  // the case is not degenerate
  EXPECT_EQ(metric.mask_summary().stats(), expected.stats());
  EXPECT_EQ(metric.mask_summary().per_class_ap, expected.per_class_ap);
  EXPECT_EQ(metric.box_summary().stats(), expected.stats());
}

using autotimm::testing::RecordingRank;
using autotimm::testing::ReplayingRank;

TEST(MaskCocoMetric, RanksEndWithEveryImageOnceFromItsFirstRank) {
  auto pair = half_and_shifted();
  // Labels outside the classes are not evaluated, so they do not travel either (a receiving rank would refuse them).
  pair[1].detections.push_back(found(-1, {0, 0, 5, 5}, 0.99));
  pair[1].detections.push_back(found(2, {0, 0, 5, 5}, 0.99));
  pair[1].detection_masks.insert(pair[1].detection_masks.end(), 2, rect(0, 0, 5, 5));
  const Sample crowd = crowd_image(3), area = area_image(4);
  MaskCocoMetric single({"cat", "dog"}), rank0({"cat", "dog"}), rank1({"cat", "dog"});
  for (const auto& s : {pair[0], pair[1], crowd, area}) add(single, s);
  add(rank0, pair[0]);
  add(rank0, crowd);
  add(rank1, pair[1]);
  add(rank1, area);
  // The sampler's padding repeats image 1 on rank 1; rank 0 had it first, so rank 0's copy counts. (The copy here
  // differs, so taking the wrong one would show.)
  Sample repeat = pair[0];
  repeat.detection_masks = {rect(0, 0, 20, 20)};
  repeat.detections[0].score = 0.1;
  add(rank1, repeat);
  RecordingRank second;
  rank1.sync(second);
  ASSERT_EQ(second.sent.size(), 4u);  // CocoMetric's three tables, then the mask stream
  ReplayingRank first(second.sent);
  rank0.sync(first);
  EXPECT_EQ(rank0.num_images(), 4);
  EXPECT_EQ(rank0.compute("val"), single.compute("val"));
  EXPECT_EQ(rank0.mask_summary().stats(), single.mask_summary().stats());
}

TEST(MaskCocoMetric, MalformedRowsFromARankAreRefused) {
  // Rank 1 sends one image with one 4 × 4 ground truth: an image record (9 values), an object header (9) and 5 runs.
  MaskCocoMetric rank1({"cat"});
  rank1.update(9, {truth(0, {0, 0, 2, 2}, 4)}, {Rle{4, 4, {0, 2, 2, 2, 10}}}, {}, {});
  RecordingRank second;
  rank1.sync(second);
  ASSERT_EQ(second.sent.at(3).size(0), 23);
  ASSERT_EQ(second.sent.at(3).size(1), 1);
  const auto received_by_empty_rank0 = [&](const torch::Tensor& masks) {
    auto tables = second.sent;
    tables[3] = masks;
    MaskCocoMetric rank0({"cat"});
    ReplayingRank first(tables);
    return error_text([&] { rank0.sync(first); });
  };
  EXPECT_EQ(received_by_empty_rank0(second.sent[3]), "(no error)");
  EXPECT_EQ(received_by_empty_rank0(second.sent[3].slice(0, 0, 22)),
            "mask coco metric: sync: the gathered mask rows at position 9: expected height, width in 0..2^31-1, "
            "crowd 0 / 1 and at most 4 runs, got 4, 4, 0 and 5; every rank must run the same build and call sync at "
            "the same point");
  const auto changed = [&](std::int64_t at, std::int64_t value) {
    auto rows = second.sent[3].clone();
    rows[at][0] = value;
    return received_by_empty_rank0(rows);
  };
  EXPECT_NE(changed(20, 3).find("expected runs summing to height × width, got 17 for 4 × 4"), std::string::npos);
  EXPECT_NE(changed(19, -2).find("expected runs in 0..2^32-1, got -2"), std::string::npos);
  EXPECT_NE(changed(9, 2).find("expected a rank from 1 to 1 (rank order), got 2"), std::string::npos);
  EXPECT_NE(changed(10, 7).find("expected a kind 0..2, got 7"), std::string::npos);
  EXPECT_NE(changed(12, 3).find("expected a category 0..0, got 3"), std::string::npos);
  EXPECT_NE(changed(2, 8).find("expected image 9 before its objects"), std::string::npos);
  EXPECT_NE(received_by_empty_rank0(second.sent[3].to(torch::kFloat64)).find("expected an int64 [N, 1] tensor"),
            std::string::npos);
  auto tables = second.sent;
  tables[3] = second.sent[3].slice(0, 0, 22);
  MaskCocoMetric rank0({"cat"});
  ReplayingRank first(tables);
  EXPECT_THROW(rank0.sync(first), TrainingError);
}

TEST(MaskCocoMetric, RepeatedImagesCountOnceAndResetEmpties) {
  const auto pair = half_and_shifted();
  MaskCocoMetric once({"cat", "dog"}), twice({"cat", "dog"});
  for (const auto& s : pair) add(once, s);
  for (const auto& s : pair) add(twice, s);
  Sample other = pair[1];
  other.detection_masks = {rect(0, 0, 1, 1)};
  add(twice, other);  // the same id again: ignored, whatever it holds
  EXPECT_EQ(twice.num_images(), 2);
  EXPECT_EQ(once.compute("val"), twice.compute("val"));
  twice.reset();
  EXPECT_EQ(twice.num_images(), 0);
  EXPECT_TRUE(twice.compute("val").empty());
  EXPECT_EQ(twice.mask_summary().num_images, 0);
  for (const auto& s : pair) add(twice, s);
  EXPECT_EQ(once.compute("val"), twice.compute("val"));
}

TEST(MaskCocoMetric, InputErrorsSayWhatAndWhere) {
  MaskCocoMetric metric({"cat"});
  const auto cat = truth(0, {0, 0, 10, 10}, 100);
  const auto hit = found(0, {0, 0, 10, 10}, 0.9);
  EXPECT_EQ(error_text([&] { metric.update(7, {cat}, {}, {}, {}); }),
            "mask coco metric: image 7: 'gt_masks': expected one mask per ground truth (1), got 0; pass gt_masks[i] "
            "for ground_truths[i]");
  EXPECT_EQ(error_text([&] {
              metric.update(7, {cat}, {rect(0, 0, 10, 10)}, {hit, hit}, {rect(0, 0, 10, 10)});
            }),
            "mask coco metric: image 7: 'detection_masks': expected one mask per detection (2), got 1; pass "
            "detection_masks[i] for detections[i]");
  EXPECT_EQ(
      error_text([&] {
        metric.update(7, {cat}, {rect(0, 0, 10, 10)}, {hit, hit}, {rect(0, 0, 10, 10), rect(0, 0, 10, 10, 32, 32)});
      }),
      "mask coco metric: image 7, detection 1: mask: expected the image's size 48 × 64 (height × width, as "
      "ground truth 0's mask), got 32 × 32; paste every mask back onto the original image before update");
  EXPECT_EQ(error_text([&] {
              metric.update(7, {cat}, {Rle{4, 4, {0, 2, 2}}}, {}, {});
            }),
            "mask coco metric: image 7, ground truth 0: mask: expected runs summing to height × width (4 × 4 = 16), "
            "got 4; build masks with rle_encode, rle_from_string or rle_from_polygons");
  EXPECT_EQ(error_text([&] {
              metric.update(7, {}, {}, {found(0, {0, 0, 1, 1}, std::numeric_limits<double>::quiet_NaN())},
                            {rect(0, 0, 1, 1)});
            }),
            "mask coco metric: image 7, detection 0: 'score': expected a finite number, got nan; check the model's "
            "outputs for NaN / Inf");
  EXPECT_THROW(metric.update(7, {cat}, {}, {}, {}), ConfigError);
  EXPECT_EQ(metric.num_images(), 0);  // nothing was added
  EXPECT_TRUE(metric.compute("val").empty());
}

}  // namespace
}  // namespace autotimm
