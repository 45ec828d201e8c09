// Semantic segmentation metrics: a hand-worked case, a per-pixel loop reference over random maps with ignored
// pixels, the sum across ranks, reset, and the input errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "autotimm/error.hpp"
#include "autotimm/metrics/segmentation_metrics.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

using autotimm::testing::error_text;

torch::Tensor map_of(std::vector<std::vector<std::vector<std::int64_t>>> rows) {
  std::vector<std::int64_t> flat;
  for (const auto& image : rows) {
    for (const auto& row : image) flat.insert(flat.end(), row.begin(), row.end());
  }
  const auto b = static_cast<std::int64_t>(rows.size());
  const auto h = static_cast<std::int64_t>(rows[0].size());
  const auto w = static_cast<std::int64_t>(rows[0][0].size());
  return torch::tensor(flat, torch::kInt64).view({b, h, w});
}

std::vector<std::string> five_classes() { return {"background", "road", "car", "person", "sky"}; }

// One 2x4 image; 255 marks the ignored pixel.
//   targets       predictions
//   0   0 1 1     0 1 1 3
//   2 255 1 0     2 2 0 0
// The ignored pixel (predicted 2) is not counted: 7 pixels. Confusion matrix, rows = target, columns = prediction:
//   t0: p0 = 2 ([0,0], [1,3]), p1 = 1 ([0,1])                 row sum 3
//   t1: p0 = 1 ([1,2]), p1 = 1 ([0,2]), p3 = 1 ([0,3])         row sum 3
//   t2: p2 = 1 ([1,0])                                        row sum 1
//   t3, t4: no pixels
// Column sums: 3, 2, 1, 1, 0. So per class (TP, FP, FN): background (2, 1, 1), road (1, 1, 2), car (1, 0, 0),
// person (0, 1, 0: predicted, never a target), sky (0, 0, 0: appears nowhere).
//   IoU = TP / (TP+FP+FN): 2/4 = 0.5, 1/4 = 0.25, 1/1 = 1, 0/1 = 0, sky -1.
//   mIoU over the 4 classes that appear: (0.5 + 0.25 + 1 + 0) / 4 = 0.4375.
//   Dice = 2TP / (2TP+FP+FN): 4/6, 2/5, 2/2, 0/1 → mean_dice = (2/3 + 2/5 + 1 + 0) / 4 = (31/15) / 4 = 31/60.
//   pixel_accuracy = (2 + 1 + 1) / 7 = 4/7.
//   mean_accuracy over the 3 classes present in targets: (2/3 + 1/3 + 1/1) / 3 = 2/3.
TEST(SegmentationMetrics, HandWorkedCase) {
  SegmentationMetrics metrics(five_classes());
  metrics.update(map_of({{{0, 1, 1, 3}, {2, 2, 0, 0}}}), map_of({{{0, 0, 1, 1}, {2, 255, 1, 0}}}));

  const auto expected_matrix = torch::tensor({2, 1, 0, 0, 0,  //
                                              1, 1, 0, 1, 0,  //
                                              0, 0, 1, 0, 0,  //
                                              0, 0, 0, 0, 0,  //
                                              0, 0, 0, 0, 0},
                                             torch::kInt64)
                                   .view({5, 5});
  const auto matrix = metrics.confusion_matrix();
  EXPECT_EQ(matrix.scalar_type(), torch::kInt64);
  EXPECT_TRUE(matrix.device().is_cpu());
  EXPECT_TRUE(torch::equal(matrix, expected_matrix)) << matrix;

  const auto values = metrics.compute("val");
  const std::map<std::string, double> expected = {
      {"val/mIoU", 0.4375},
      {"val/mean_dice", 31.0 / 60.0},
      {"val/pixel_accuracy", 4.0 / 7.0},
      {"val/mean_accuracy", 2.0 / 3.0},
      {"val/iou/background", 0.5},
      {"val/iou/road", 0.25},
      {"val/iou/car", 1.0},
      {"val/iou/person", 0.0},
      {"val/iou/sky", -1.0},
  };
  ASSERT_EQ(values.size(), expected.size());
  for (const auto& [name, value] : expected) {
    ASSERT_TRUE(values.count(name)) << name;
    EXPECT_NEAR(values.at(name), value, 1e-12) << name;
  }
}

// The reference: a plain loop over every pixel, each value written out from its definition.
struct Reference {
  std::int64_t c;
  std::int64_t ignore;
  std::vector<std::vector<std::int64_t>> cm;  // [target][prediction]

  Reference(std::int64_t classes, std::int64_t ignore_index)
      : c(classes), ignore(ignore_index),
        cm(static_cast<std::size_t>(classes), std::vector<std::int64_t>(static_cast<std::size_t>(classes))) {}

  void add(const torch::Tensor& predictions, const torch::Tensor& targets) {
    const auto p = predictions.accessor<std::int64_t, 3>();
    const auto t = targets.accessor<std::int64_t, 3>();
    for (std::int64_t b = 0; b < targets.size(0); ++b) {
      for (std::int64_t y = 0; y < targets.size(1); ++y) {
        for (std::int64_t x = 0; x < targets.size(2); ++x) {
          if (t[b][y][x] == ignore) continue;
          ++cm[static_cast<std::size_t>(t[b][y][x])][static_cast<std::size_t>(p[b][y][x])];
        }
      }
    }
  }

  std::map<std::string, double> values(const std::vector<std::string>& names) const {
    std::map<std::string, double> out;
    double iou_sum = 0, dice_sum = 0, recall_sum = 0, correct = 0, counted = 0;
    int appearing = 0, in_targets = 0;
    for (std::size_t k = 0; k < cm.size(); ++k) {
      double tp = 0, fp = 0, fn = 0;
      for (std::size_t j = 0; j < cm.size(); ++j) {
        const auto n = static_cast<double>(cm[k][j]);
        counted += n;
        if (j == k) tp += n; else fn += n;
        if (j != k) fp += static_cast<double>(cm[j][k]);
      }
      correct += tp;
      if (tp + fp + fn > 0) {
        ++appearing;
        iou_sum += tp / (tp + fp + fn);
        dice_sum += 2 * tp / (2 * tp + fp + fn);
        out["test/iou/" + names[k]] = tp / (tp + fp + fn);
      } else {
        out["test/iou/" + names[k]] = -1;
      }
      if (tp + fn > 0) {
        ++in_targets;
        recall_sum += tp / (tp + fn);
      }
    }
    out["test/mIoU"] = iou_sum / appearing;
    out["test/mean_dice"] = dice_sum / appearing;
    out["test/mean_accuracy"] = recall_sum / in_targets;
    out["test/pixel_accuracy"] = correct / counted;
    return out;
  }
};

// Random maps over 6 classes: targets draw from classes 0-3, predictions from 0-4, so class 4 is only ever
// predicted and class 5 appears nowhere; about a fifth of the pixels are ignored. Three updates per seed.
TEST(SegmentationMetrics, MatchesPerPixelReferenceOnRandomMaps) {
  const std::vector<std::string> names{"c0", "c1", "c2", "c3", "only_predicted", "nowhere"};
  for (const int seed : {0, 1, 2}) {
    torch::manual_seed(seed);
    SegmentationMetrics metrics(names, 255);
    Reference reference(6, 255);
    for (int batch = 0; batch < 3; ++batch) {
      auto targets = torch::randint(0, 4, {2, 5, 7}, torch::kInt64);
      targets.masked_fill_(torch::rand({2, 5, 7}) < 0.2, 255);
      const auto predictions = torch::randint(0, 5, {2, 5, 7}, torch::kInt64);
      metrics.update(predictions, targets);
      reference.add(predictions, targets);
    }
    const auto matrix = metrics.confusion_matrix();
    for (std::int64_t k = 0; k < 6; ++k) {
      for (std::int64_t j = 0; j < 6; ++j) {
        const auto expected = reference.cm[static_cast<std::size_t>(k)][static_cast<std::size_t>(j)];
        EXPECT_EQ(matrix[k][j].item<std::int64_t>(), expected)
            << "seed " << seed << " cell " << k << ", " << j;
      }
    }
    const auto values = metrics.compute("test");
    const auto expected = reference.values(names);
    ASSERT_EQ(values.size(), expected.size()) << "seed " << seed;
    for (const auto& [name, value] : expected) {
      ASSERT_TRUE(values.count(name)) << name;
      EXPECT_NEAR(values.at(name), value, 1e-12) << "seed " << seed << " " << name;
    }
    EXPECT_EQ(values.at("test/iou/nowhere"), -1.0);
    EXPECT_EQ(values.at("test/iou/only_predicted"), 0.0);
  }
}

TEST(SegmentationMetrics, CountsUint8MasksAndAnyIgnoreIndex) {
  // Masks decoded from images arrive as uint8; an ignore_index of -1 works as 255 does.
  SegmentationMetrics from_bytes({"a", "b"});
  from_bytes.update(torch::tensor({0, 1, 1, 0}, torch::kUInt8).view({1, 2, 2}),
                    torch::tensor({0, 1, 255, 1}, torch::kUInt8).view({1, 2, 2}));
  SegmentationMetrics negative({"a", "b"}, -1);
  negative.update(map_of({{{0, 1}, {1, 0}}}), map_of({{{0, 1}, {-1, 1}}}));
  const auto expected = torch::tensor({1, 0, 1, 1}, torch::kInt64).view({2, 2});
  EXPECT_TRUE(torch::equal(from_bytes.confusion_matrix(), expected)) << from_bytes.confusion_matrix();
  EXPECT_TRUE(torch::equal(negative.confusion_matrix(), expected)) << negative.confusion_matrix();
}

TEST(SegmentationMetrics, EmptyStateComputesNothing) {
  SegmentationMetrics metrics({"a", "b"});
  EXPECT_TRUE(metrics.compute("val").empty());
  metrics.update(map_of({{{0, 1}}}), map_of({{{255, 255}}}));  // every pixel ignored
  EXPECT_TRUE(metrics.compute("val").empty());
  metrics.update(torch::zeros({0, 4, 4}, torch::kInt64), torch::zeros({0, 4, 4}, torch::kInt64));  // no images
  EXPECT_TRUE(metrics.compute("val").empty());
}

TEST(SegmentationMetrics, ResetStartsOver) {
  SegmentationMetrics metrics({"a", "b"});
  metrics.update(map_of({{{0, 1}, {1, 1}}}), map_of({{{0, 0}, {1, 0}}}));
  metrics.reset();
  EXPECT_TRUE(torch::equal(metrics.confusion_matrix(), torch::zeros({2, 2}, torch::kInt64)));
  EXPECT_TRUE(metrics.compute("val").empty());
  metrics.update(map_of({{{1, 1}}}), map_of({{{1, 0}}}));
  SegmentationMetrics fresh({"a", "b"});
  fresh.update(map_of({{{1, 1}}}), map_of({{{1, 0}}}));
  EXPECT_TRUE(torch::equal(metrics.confusion_matrix(), fresh.confusion_matrix()));
  EXPECT_EQ(metrics.compute("val"), fresh.compute("val"));
}

TEST(SegmentationMetrics, ConfusionMatrixIsACopy) {
  SegmentationMetrics metrics({"a", "b"});
  metrics.update(map_of({{{0}}}), map_of({{{0}}}));
  metrics.confusion_matrix().fill_(7);
  EXPECT_EQ(metrics.confusion_matrix().sum().item<std::int64_t>(), 1);
}

/// One of two ranks: the all-reduce adds what the other rank holds, as a sum across two processes does.
class SummingRank final : public Collective {
 public:
  SummingRank(int rank, torch::Tensor other) : rank_(rank), other_(std::move(other)) {}
  int rank() const override { return rank_; }
  int world_size() const override { return 2; }
  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override {
    ++calls;
    ASSERT_EQ(tensors.size(), 1u);
    ASSERT_EQ(tensors[0].scalar_type(), torch::kInt64);
    ASSERT_EQ(tensors[0].sizes(), other_.sizes());
    tensors[0] += other_;
  }
  torch::Tensor all_gather_rows(const torch::Tensor& rows) override {
    ADD_FAILURE() << "not used";
    return rows;
  }
  int calls = 0;

 private:
  int rank_;
  torch::Tensor other_;
};

TEST(SegmentationMetrics, SyncSumsConfusionMatricesAcrossRanks) {
  torch::manual_seed(3);
  const std::vector<std::string> names{"a", "b", "c"};
  SegmentationMetrics all(names), rank0(names), rank1(names);
  for (int batch = 0; batch < 4; ++batch) {
    auto targets = torch::randint(0, 3, {1, 4, 4}, torch::kInt64);
    targets.masked_fill_(torch::rand({1, 4, 4}) < 0.25, 255);
    const auto predictions = torch::randint(0, 3, {1, 4, 4}, torch::kInt64);
    all.update(predictions, targets);
    (batch % 2 ? rank1 : rank0).update(predictions, targets);
  }
  ASSERT_FALSE(torch::equal(rank0.confusion_matrix(), all.confusion_matrix()));
  const auto before0 = rank0.confusion_matrix();
  const auto before1 = rank1.confusion_matrix();
  SummingRank first(0, before1), second(1, before0);
  rank0.sync(first);
  rank1.sync(second);
  EXPECT_EQ(first.calls, 1);
  EXPECT_EQ(second.calls, 1);
  for (const auto* synced : {&rank0, &rank1}) {
    EXPECT_TRUE(torch::equal(synced->confusion_matrix(), all.confusion_matrix()));
    EXPECT_EQ(synced->compute("val"), all.compute("val"));
  }

  // A world of one leaves the matrix as it was.
  SingleProcess alone;
  all.sync(alone);
  EXPECT_TRUE(torch::equal(all.confusion_matrix(), before0 + before1));
}

TEST(SegmentationMetrics, RejectsOutOfRangeClassesNamingTheValue) {
  SegmentationMetrics metrics({"a", "b", "c"});
  EXPECT_EQ(error_text([&] { metrics.update(map_of({{{0, 1, 2}, {0, 1, 2}}}), map_of({{{0, 1, 2}, {0, 255, 7}}})); }),
            "segmentation metrics update #1: target 7 at [0, 1, 2] is out of range: expected a class in [0, 3) or "
            "ignore_index 255; check the labels and class_names");
  EXPECT_EQ(error_text([&] { metrics.update(map_of({{{0, 1}}, {{2, 0}}}), map_of({{{0, 1}}, {{-1, 0}}})); }),
            "segmentation metrics update #2: target -1 at [1, 0, 0] is out of range: expected a class in [0, 3) or "
            "ignore_index 255; check the labels and class_names");
  // A prediction must be a class even where the target is ignored.
  EXPECT_EQ(error_text([&] { metrics.update(map_of({{{0, 3}}}), map_of({{{0, 255}}})); }),
            "segmentation metrics update #3: prediction 3 at [0, 0, 1] is out of range: expected a class in [0, 3), "
            "every pixel's, ignored ones too");
  EXPECT_EQ(error_text([&] { metrics.update(map_of({{{0, -2}}}), map_of({{{0, 1}}})); }),
            "segmentation metrics update #4: prediction -2 at [0, 0, 1] is out of range: expected a class in [0, 3), "
            "every pixel's, ignored ones too");
  // A rejected batch is not counted at all.
  EXPECT_TRUE(torch::equal(metrics.confusion_matrix(), torch::zeros({3, 3}, torch::kInt64)));
  EXPECT_TRUE(metrics.compute("val").empty());
}

TEST(SegmentationMetrics, RejectsWrongShapesAndTypes) {
  SegmentationMetrics metrics({"a", "b", "c"});
  EXPECT_EQ(error_text([&] { metrics.update(torch::zeros({1, 3, 2, 2}), torch::zeros({1, 2, 2}, torch::kInt64)); }),
            "segmentation metrics update #1: predictions has shape [1, 3, 2, 2] and targets [1, 2, 2]: expected "
            "class maps [B, H, W] of the same shape; take argmax(1) of [B, C, H, W] logits");
  EXPECT_EQ(error_text([&] {
              metrics.update(torch::zeros({1, 2, 2}, torch::kInt64), torch::zeros({1, 2, 3}, torch::kInt64));
            }),
            "segmentation metrics update #2: predictions has shape [1, 2, 2] and targets [1, 2, 3]: expected "
            "class maps [B, H, W] of the same shape; take argmax(1) of [B, C, H, W] logits");
  EXPECT_EQ(error_text([&] { metrics.update(torch::zeros({1, 2, 2}), torch::zeros({1, 2, 2}, torch::kInt64)); }),
            "segmentation metrics update #3: predictions has dtype Float: expected integer class indices");
  EXPECT_EQ(error_text([&] {
              metrics.update(torch::zeros({1, 2, 2}, torch::kInt64), torch::zeros({1, 2, 2}, torch::kBool));
            }),
            "segmentation metrics update #4: targets has dtype Bool: expected integer class indices");
  EXPECT_EQ(error_text([&] { metrics.update(torch::Tensor(), torch::zeros({1, 2, 2}, torch::kInt64)); }),
            "segmentation metrics update #5: predictions and targets must both be defined tensors");
}

TEST(SegmentationMetrics, RejectsBadClassLists) {
  EXPECT_EQ(error_text([] { SegmentationMetrics({}); }),
            "segmentation metrics: 'class_names': expected at least one class, got none");
  EXPECT_EQ(error_text([] { SegmentationMetrics({"road", "car", "road"}); }),
            "segmentation metrics: 'class_names': 'road' names classes 0 and 2: expected unique names, each keys its "
            "own iou/<name> value");
  EXPECT_EQ(error_text([] { SegmentationMetrics({"background", "road"}, 0); }),
            "segmentation metrics: 'ignore_index': 0 is also class 'background' (classes are [0, 2)): expected a "
            "value outside the classes (255 by default); to leave a class out of the metrics, relabel its pixels to "
            "ignore_index");
}

}  // namespace
}  // namespace autotimm
