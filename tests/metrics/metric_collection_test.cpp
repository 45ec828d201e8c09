// MetricCollection: names to values with a stage prefix, tensors apart, defaults, merging, and the name errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "autotimm/error.hpp"
#include "autotimm/metrics/metric_collection.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

using testing::error_text;

TEST(MetricCollection, SingleLabelNamesGivePrefixedValues) {
  MetricCollection metrics({"accuracy", "top5_accuracy", "f1_macro", "precision_macro", "recall_macro", "f1_weighted",
                            "top1_accuracy", "confusion_matrix", "f1_per_class"},
                           {.num_classes = 6});
  torch::manual_seed(1);
  const auto scores = torch::randn({20, 6});
  const auto target = torch::randint(0, 6, {20}, torch::kInt64);
  metrics.update(scores, target);
  MulticlassMetrics direct({.num_classes = 6, .top_k = {5}});
  direct.update(scores, target);
  const auto expected = direct.compute();

  const auto values = metrics.compute("val");
  EXPECT_EQ(values.size(), 7u);
  EXPECT_EQ(values.at("val/accuracy"), expected.at("accuracy"));
  EXPECT_EQ(values.at("val/top1_accuracy"), expected.at("accuracy"));
  EXPECT_EQ(values.at("val/top5_accuracy"), expected.at("top5_accuracy"));
  EXPECT_EQ(values.at("val/f1_macro"), expected.at("f1_macro"));
  EXPECT_EQ(values.at("val/f1_weighted"), expected.at("f1_weighted"));
  EXPECT_EQ(metrics.compute("test/").count("test/accuracy"), 1u);
  EXPECT_EQ(metrics.compute().count("accuracy"), 1u);

  const auto tensors = metrics.compute_tensors("val");
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_TRUE(torch::equal(tensors.at("val/confusion_matrix"), direct.confusion_matrix()));
  EXPECT_TRUE(torch::allclose(tensors.at("val/f1_per_class"), direct.f1_per_class()));
  EXPECT_EQ(tensors.at("val/confusion_matrix").sum().item<std::int64_t>(), 20);
}

TEST(MetricCollection, MultiLabelNames) {
  MetricCollection metrics({"accuracy", "f1_macro", "f1_micro", "map", "confusion_matrix"},
                           {.num_classes = 4, .multi_label = true, .threshold = 0.4});
  torch::manual_seed(2);
  const auto logits = torch::randn({16, 4});
  const auto target = torch::randint(0, 2, {16, 4});
  metrics.update(logits, target);
  MultilabelMetrics direct({.num_labels = 4, .threshold = 0.4});
  direct.update(logits, target);
  const auto values = metrics.compute("train");
  EXPECT_EQ(values.at("train/accuracy"), direct.accuracy(Average::macro));
  EXPECT_EQ(values.at("train/f1_micro"), direct.f1(Average::micro));
  EXPECT_EQ(values.at("train/map"), direct.mean_average_precision());
  EXPECT_EQ(metrics.compute_tensors("train").at("train/confusion_matrix").sizes(), torch::IntArrayRef({4, 2, 2}));
}

TEST(MetricCollection, ScoresAreKeptOnlyWhenMapIsAsked) {
  MetricCollection without({"f1_macro"}, {.num_classes = 3, .multi_label = true});
  without.update(torch::randn({5, 3}), torch::randint(0, 2, {5, 3}));
  EXPECT_FALSE(dynamic_cast<const MultilabelMetrics&>(without.metric()).options().average_precision);
  MetricCollection with({"map"}, {.num_classes = 3, .multi_label = true});
  EXPECT_TRUE(dynamic_cast<const MultilabelMetrics&>(with.metric()).options().average_precision);
}

TEST(MetricCollection, DefaultNamesAddTop5OnlyWithFiveClasses) {
  const auto four = MetricCollection::default_names(4, false);
  EXPECT_EQ(std::count(four.begin(), four.end(), "top5_accuracy"), 0);
  const auto five = MetricCollection::default_names(5, false);
  EXPECT_EQ(std::count(five.begin(), five.end(), "top5_accuracy"), 1);
  // Every default name builds.
  EXPECT_NO_THROW(MetricCollection(four, {.num_classes = 4}));
  EXPECT_NO_THROW(MetricCollection(five, {.num_classes = 5}));
  EXPECT_NO_THROW(MetricCollection(MetricCollection::default_names(3, true), {.num_classes = 3, .multi_label = true}));
}

TEST(MetricCollection, MergeAddsRanks) {
  torch::manual_seed(4);
  const auto scores = torch::randn({30, 5});
  const auto target = torch::randint(0, 5, {30}, torch::kInt64);
  const std::vector<std::string> names{"accuracy", "top5_accuracy", "f1_macro"};
  MetricCollection whole(names, {.num_classes = 5});
  whole.update(scores, target);
  MetricCollection a(names, {.num_classes = 5});
  MetricCollection b(names, {.num_classes = 5});
  a.update(scores.slice(0, 0, 12), target.slice(0, 0, 12));
  b.update(scores.slice(0, 12, 30), target.slice(0, 12, 30));
  a.merge(b);
  EXPECT_EQ(a.compute("val"), whole.compute("val"));
  MetricCollection other({"accuracy"}, {.num_classes = 5});
  EXPECT_THROW(a.merge(other), ConfigError);
  a.reset();
  EXPECT_EQ(a.metric().num_samples(), 0);
}

TEST(MetricCollection, NameErrorsSuggestAndList) {
  EXPECT_EQ(error_text([] { MetricCollection({"f1_macr"}, {.num_classes = 3}); }),
            "unknown metric 'f1_macr' for single-label classification; did you mean 'f1_macro'? Valid: accuracy, "
            "accuracy_macro, top<k>_accuracy, top<k>_accuracy_macro, precision_micro, precision_macro, "
            "precision_weighted, recall_micro, recall_macro, recall_weighted, f1_micro, f1_macro, f1_weighted, "
            "confusion_matrix, precision_per_class, recall_per_class, f1_per_class");
  EXPECT_EQ(error_text([] { MetricCollection({"mAP"}, {.num_classes = 3, .multi_label = true}); }),
            "unknown metric 'mAP' for multi-label classification; did you mean 'map'? Valid: accuracy, accuracy_micro, "
            "precision_micro, precision_macro, precision_weighted, recall_micro, recall_macro, recall_weighted, "
            "f1_micro, f1_macro, f1_weighted, map, map_micro, confusion_matrix, f1_per_label, "
            "average_precision_per_label");
  const auto top5 = error_text([] { MetricCollection({"top5_acuracy"}, {.num_classes = 10}); });
  EXPECT_NE(top5.find("did you mean 'top5_accuracy'?"), std::string::npos) << top5;
  EXPECT_EQ(error_text([] { MetricCollection({"top5_accuracy"}, {.num_classes = 3}); }),
            "metrics: 'top5_accuracy': expected k in [1, num_classes = 3], got 5; top-k needs at least k classes "
            "(default_names adds top5_accuracy only when num_classes >= 5)");
  const auto wrong_task = error_text([] { MetricCollection({"map"}, {.num_classes = 3}); });
  EXPECT_EQ(wrong_task.rfind("metrics: 'map' is a multi-label metric, but multi_label = false; valid single-label "
                             "metrics: accuracy, ", 0),
            0u)
      << wrong_task;
  EXPECT_EQ(error_text([] { MetricCollection({"accuracy", "accuracy"}, {.num_classes = 3}); }),
            "metrics: 'accuracy' is listed twice; list each metric once");
  EXPECT_EQ(error_text([] { MetricCollection({"accuracy"}, {.num_classes = 0}); }),
            "metrics: 'num_classes': expected >= 1, got 0");
  // Input errors pass through with the accumulator's message.
  MetricCollection metrics({"accuracy"}, {.num_classes = 3});
  EXPECT_THROW(metrics.update(torch::randn({2, 3}), torch::tensor({0, 5})), ConfigError);
}

}  // namespace
}  // namespace autotimm
