// The COCO epoch metric: per-image updates, names, and the exchange between ranks (a padded repeat counted once).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "autotimm/metrics/coco_metric.hpp"
#include "support/two_rank_gather.hpp"

namespace autotimm {
namespace {

using autotimm::testing::RecordingRank;
using autotimm::testing::ReplayingRank;

struct Image {
  std::int64_t id;
  std::vector<DetectionGroundTruth> truth;
  std::vector<Detection> found;
};

// Three images: a hit, a miss plus a false positive, and a crowd region.
std::vector<Image> images() {
  return {
      {1, {{0, {10, 10, 50, 50}, 1600, false}}, {{0, {12, 10, 50, 52}, 0.9}}},
      {2, {{1, {0, 0, 20, 20}, 400, false}}, {{1, {60, 60, 80, 80}, 0.8}}},
      {3, {{0, {0, 0, 100, 100}, 10000, true}, {1, {5, 5, 45, 45}, 1600, false}}, {{1, {5, 5, 45, 45}, 0.7}}},
  };
}

TEST(CocoMetric, NamesEveryNumberAndEveryClass) {
  CocoMetric metric({"cat", "dog"});
  EXPECT_TRUE(metric.compute("val").empty());
  for (const auto& image : images()) metric.update(image.id, image.truth, image.found);
  const auto values = metric.compute("val");
  EXPECT_EQ(values.size(), 12u + 2u);
  for (const auto name : coco_metric_names()) EXPECT_TRUE(values.count("val/" + std::string(name))) << name;
  // cat: one object hit at IoU 1520 / 1676 = 0.907: found at the thresholds .50 to .90, missed at .95 → 9/10.
  EXPECT_NEAR(values.at("val/ap/cat"), 0.9, 1e-9);
  // dog: the false positive ranks first, then the hit: precision 0.5 up to recall 0.5, sampled at the 51 recall
  // points 0, .01, ..., .50 of 101 → 51 · 0.5 / 101.
  EXPECT_NEAR(values.at("val/ap/dog"), 25.5 / 101.0, 1e-9);
  EXPECT_EQ(metric.num_images(), 3);
}

TEST(CocoMetric, ARepeatedImageCountsOnce) {
  CocoMetric once({"cat", "dog"}), twice({"cat", "dog"});
  for (const auto& image : images()) {
    once.update(image.id, image.truth, image.found);
    twice.update(image.id, image.truth, image.found);
    twice.update(image.id, image.truth, image.found);
  }
  EXPECT_EQ(twice.num_images(), 3);
  EXPECT_EQ(once.compute("val"), twice.compute("val"));
  twice.reset();
  EXPECT_EQ(twice.num_images(), 0);
}

TEST(CocoMetric, RanksEndWithEveryImageOnce) {
  const auto all = images();
  CocoMetric single({"cat", "dog"}), rank0({"cat", "dog"}), rank1({"cat", "dog"});
  for (const auto& image : all) single.update(image.id, image.truth, image.found);
  rank0.update(all[0].id, all[0].truth, all[0].found);
  rank0.update(all[1].id, all[1].truth, all[1].found);
  rank1.update(all[2].id, all[2].truth, all[2].found);
  rank1.update(all[0].id, all[0].truth, all[0].found);  // the sampler's padding repeats image 1 on rank 1
  RecordingRank second;
  rank1.sync(second);
  ReplayingRank first(second.sent);
  rank0.sync(first);
  EXPECT_EQ(rank0.num_images(), 3);
  EXPECT_EQ(rank0.compute("val"), single.compute("val"));
}

}  // namespace
}  // namespace autotimm
