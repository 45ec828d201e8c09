// Single-label metrics: every score against a brute-force loop reference over random batches, streaming and
// merging, hand-worked cases, top-k, ignore_index and the input errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "autotimm/error.hpp"
#include "autotimm/metrics/classification_metrics.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

using testing::error_text;

// The reference: plain loops over (scores, target) pairs, torchmetrics' rules written out directly.
struct Reference {
  std::int64_t c;
  std::vector<std::vector<std::int64_t>> cm;  // [target][pred]
  std::map<std::int64_t, std::vector<std::int64_t>> hits;  // k -> per class
  Reference(std::int64_t classes, const std::vector<std::int64_t>& ks)
      : c(classes), cm(static_cast<std::size_t>(classes), std::vector<std::int64_t>(static_cast<std::size_t>(classes))) {
    for (auto k : ks) hits[k] = std::vector<std::int64_t>(static_cast<std::size_t>(classes));
  }
  void add(const torch::Tensor& scores, const torch::Tensor& target, std::optional<std::int64_t> ignore = {}) {
    for (std::int64_t i = 0; i < scores.size(0); ++i) {
      const auto t = target[i].item<std::int64_t>();
      if (ignore && t == *ignore) continue;
      std::vector<std::pair<float, std::int64_t>> row;
      for (std::int64_t j = 0; j < c; ++j) row.push_back({scores[i][j].item<float>(), j});
      std::int64_t best = 0;
      for (std::int64_t j = 1; j < c; ++j) if (row[j].first > row[best].first) best = j;
      ++cm[t][best];
      for (auto& [k, h] : hits) {
        // Rank of the target = number of classes with a higher score (random floats: no ties).
        std::int64_t higher = 0;
        for (std::int64_t j = 0; j < c; ++j) higher += row[j].first > row[t].first;
        if (higher < k) ++h[t];
      }
    }
  }
  double tp(std::int64_t k) const { return static_cast<double>(cm[k][k]); }
  double support(std::int64_t k) const { return std::accumulate(cm[k].begin(), cm[k].end(), 0.0); }
  double predicted(std::int64_t k) const {
    double s = 0;
    for (std::int64_t t = 0; t < c; ++t) s += cm[t][k];
    return s;
  }
  double total() const {
    double s = 0;
    for (std::int64_t k = 0; k < c; ++k) s += support(k);
    return s;
  }
  static double div(double a, double b) { return b == 0 ? 0.0 : a / b; }
  double precision_c(std::int64_t k) const { return div(tp(k), predicted(k)); }
  double recall_c(std::int64_t k) const { return div(tp(k), support(k)); }
  double f1_c(std::int64_t k) const {
    const double p = precision_c(k), r = recall_c(k);
    return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
  }
  bool present(std::int64_t k) const { return support(k) + predicted(k) > 0; }
  template <class F>
  double macro(F f) const {
    double s = 0, n = 0;
    for (std::int64_t k = 0; k < c; ++k) if (present(k)) { s += f(k); n += 1; }
    return div(s, n);
  }
  template <class F>
  double weighted(F f) const {
    double s = 0;
    for (std::int64_t k = 0; k < c; ++k) s += f(k) * support(k);
    return div(s, total());
  }
  double accuracy() const {
    double s = 0;
    for (std::int64_t k = 0; k < c; ++k) s += tp(k);
    return div(s, total());
  }
  double top_k(std::int64_t k) const {
    const auto& h = hits.at(k);
    return div(std::accumulate(h.begin(), h.end(), 0.0), total());
  }
  double top_k_macro(std::int64_t k) const {
    const auto& h = hits.at(k);
    double s = 0, n = 0;
    for (std::int64_t j = 0; j < c; ++j) if (support(j) > 0) { s += h[j] / support(j); n += 1; }
    return div(s, n);
  }
};

void expect_matches(const MulticlassMetrics& m, const Reference& r) {
  const auto v = m.compute();
  auto p = [&](std::int64_t k) { return r.precision_c(k); };
  auto rc = [&](std::int64_t k) { return r.recall_c(k); };
  auto f = [&](std::int64_t k) { return r.f1_c(k); };
  EXPECT_NEAR(v.at("accuracy"), r.accuracy(), 1e-12);
  EXPECT_NEAR(v.at("accuracy_macro"), r.macro(rc), 1e-12);
  EXPECT_NEAR(v.at("precision_macro"), r.macro(p), 1e-12);
  EXPECT_NEAR(v.at("recall_macro"), r.macro(rc), 1e-12);
  EXPECT_NEAR(v.at("f1_macro"), r.macro(f), 1e-12);
  EXPECT_NEAR(v.at("precision_weighted"), r.weighted(p), 1e-12);
  EXPECT_NEAR(v.at("recall_weighted"), r.weighted(rc), 1e-12);
  EXPECT_NEAR(v.at("f1_weighted"), r.weighted(f), 1e-12);
  for (const auto* micro : {"precision_micro", "recall_micro", "f1_micro"}) EXPECT_NEAR(v.at(micro), r.accuracy(), 1e-12);
  for (const auto& [k, h] : r.hits) {
    EXPECT_NEAR(v.at("top" + std::to_string(k) + "_accuracy"), r.top_k(k), 1e-12) << k;
    EXPECT_NEAR(v.at("top" + std::to_string(k) + "_accuracy_macro"), r.top_k_macro(k), 1e-12) << k;
  }
  for (std::int64_t t = 0; t < r.c; ++t) {
    EXPECT_NEAR(m.f1_per_class()[t].item<double>(), r.f1_c(t), 1e-12);
    EXPECT_NEAR(m.precision_per_class()[t].item<double>(), r.precision_c(t), 1e-12);
    EXPECT_NEAR(m.recall_per_class()[t].item<double>(), r.recall_c(t), 1e-12);
    for (std::int64_t q = 0; q < r.c; ++q) EXPECT_EQ(m.confusion_matrix()[t][q].item<std::int64_t>(), r.cm[t][q]);
  }
}

TEST(MulticlassMetrics, MatchesBruteForceOverSeedsAndBatches) {
  for (std::int64_t seed = 0; seed < 6; ++seed) {
    torch::manual_seed(seed);
    const std::int64_t c = 3 + seed;  // some classes go missing in small batches: exercises macro exclusion
    std::vector<std::int64_t> ks;
    for (std::int64_t k = 2; k <= std::min<std::int64_t>(c, 5); ++k) ks.push_back(k);
    MulticlassMetrics metrics({.num_classes = c, .top_k = ks});
    Reference ref(c, ks);
    for (int batch = 0; batch < 4; ++batch) {
      const auto scores = torch::randn({7 + batch, c});
      // Targets drawn from the first c-1 classes: the last class may be predicted but never a target.
      const auto target = torch::randint(0, c - 1, {7 + batch}, torch::kInt64);
      metrics.update(scores, target);
      ref.add(scores, target);
    }
    SCOPED_TRACE("seed " + std::to_string(seed));
    expect_matches(metrics, ref);
    EXPECT_EQ(metrics.num_samples(), static_cast<std::int64_t>(ref.total()));
  }
}

TEST(MulticlassMetrics, StreamingEqualsOneBatchAndMergeEqualsBoth) {
  torch::manual_seed(11);
  const auto scores = torch::randn({40, 6});
  const auto target = torch::randint(0, 6, {40}, torch::kInt64);
  MulticlassMetrics whole({.num_classes = 6, .top_k = {3, 5}});
  whole.update(scores, target);
  MulticlassMetrics streamed({.num_classes = 6, .top_k = {3, 5}});
  MulticlassMetrics a({.num_classes = 6, .top_k = {3, 5}});
  MulticlassMetrics b({.num_classes = 6, .top_k = {3, 5}});
  for (int i = 0; i < 4; ++i) {
    streamed.update(scores.slice(0, i * 10, i * 10 + 10), target.slice(0, i * 10, i * 10 + 10));
    (i % 2 ? a : b).update(scores.slice(0, i * 10, i * 10 + 10), target.slice(0, i * 10, i * 10 + 10));
  }
  a.merge(b);
  EXPECT_EQ(streamed.compute(), whole.compute());
  EXPECT_EQ(a.compute(), whole.compute());
  EXPECT_TRUE(torch::equal(a.confusion_matrix(), whole.confusion_matrix()));

  // DDP path: summing the state tensors of two ranks in place is a merge.
  MulticlassMetrics r0({.num_classes = 6, .top_k = {3, 5}});
  MulticlassMetrics r1({.num_classes = 6, .top_k = {3, 5}});
  r0.update(scores.slice(0, 0, 25), target.slice(0, 0, 25));
  r1.update(scores.slice(0, 25, 40), target.slice(0, 25, 40));
  auto s0 = r0.state_tensors();
  const auto s1 = r1.state_tensors();
  for (std::size_t i = 0; i < s0.size(); ++i) s0[i].add_(s1[i]);
  EXPECT_EQ(r0.compute(), whole.compute());

  whole.reset();
  EXPECT_EQ(whole.num_samples(), 0);
  EXPECT_EQ(whole.compute().at("accuracy"), 0.0);
}

TEST(MulticlassMetrics, HandWorkedThreeClassMacroMicroWeighted) {
  // targets 0 0 0 1 1 2, predictions 0 0 1 1 2 2:
  //   class 0: tp 2, fp 0, fn 1 -> P 1, R 2/3, F1 0.8
  //   class 1: tp 1, fp 1, fn 1 -> P 1/2, R 1/2, F1 1/2
  //   class 2: tp 1, fp 1, fn 0 -> P 1/2, R 1, F1 2/3
  // micro F1 = accuracy = 4/6; macro F1 = (0.8 + 0.5 + 2/3)/3 = 0.6555…; weighted F1 = (3*0.8 + 2*0.5 + 2/3)/6.
  MulticlassMetrics m({.num_classes = 3});
  m.update(torch::tensor({0, 0, 1, 1, 2, 2}), torch::tensor({0, 0, 0, 1, 1, 2}));
  const auto v = m.compute();
  EXPECT_NEAR(v.at("f1_micro"), 4.0 / 6, 1e-12);
  EXPECT_NEAR(v.at("accuracy"), 4.0 / 6, 1e-12);
  EXPECT_NEAR(v.at("f1_macro"), (0.8 + 0.5 + 2.0 / 3) / 3, 1e-12);
  EXPECT_NEAR(v.at("f1_weighted"), (3 * 0.8 + 2 * 0.5 + 2.0 / 3) / 6, 1e-12);
  EXPECT_NEAR(v.at("precision_macro"), (1 + 0.5 + 0.5) / 3, 1e-12);
  EXPECT_NEAR(v.at("recall_macro"), (2.0 / 3 + 0.5 + 1) / 3, 1e-12);
  EXPECT_NEAR(v.at("accuracy_macro"), (2.0 / 3 + 0.5 + 1) / 3, 1e-12);
  const auto expected = torch::tensor({2, 1, 0, 0, 1, 1, 0, 0, 1}, torch::kInt64).view({3, 3});
  EXPECT_TRUE(torch::equal(m.confusion_matrix(), expected));
}

TEST(MulticlassMetrics, MacroSkipsClassesAbsentFromTargetsAndPredictions) {
  // torchmetrics example: target [2, 1, 0, 0], preds [2, 1, 0, 1] -> macro accuracy 0.8333 over 3 classes.
  // With 5 classes, classes 3 and 4 appear nowhere and must not dilute the mean.
  MulticlassMetrics m({.num_classes = 5});
  m.update(torch::tensor({2, 1, 0, 1}), torch::tensor({2, 1, 0, 0}));
  EXPECT_NEAR(m.accuracy(Average::macro), (0.5 + 1 + 1) / 3, 1e-12);
  // A class predicted but never a target stays in the mean with recall 0 (tp + fp + fn > 0).
  MulticlassMetrics n({.num_classes = 5});
  n.update(torch::tensor({4, 1}), torch::tensor({0, 1}));
  EXPECT_NEAR(n.recall(Average::macro), (0 + 1 + 0) / 3.0, 1e-12);
  EXPECT_NEAR(n.precision(Average::macro), (0 + 1 + 0) / 3.0, 1e-12);
}

TEST(MulticlassMetrics, TopKHandChecked) {
  // The target's rank per row: row 0 (target 1) 2nd, row 1 (target 2) 3rd, row 2 (target 1) 1st, row 3 (target 3)
  // 4th. So top-1 1/4, top-2 2/4, top-3 3/4.
  const auto scores = torch::tensor({0.1f, 0.2f, 0.6f, 0.1f, 0.5f, 0.3f, 0.1f, 0.05f, 0.3f, 0.8f, 0.0f, 0.4f,
                                     0.5f, 0.2f, 0.7f, 0.1f}).view({4, 4});
  MulticlassMetrics m({.num_classes = 4, .top_k = {2, 3}});
  m.update(scores, torch::tensor({1, 2, 1, 3}));
  EXPECT_NEAR(m.accuracy(), 1.0 / 4, 1e-12);
  EXPECT_NEAR(m.top_k_accuracy(2), 2.0 / 4, 1e-12);
  EXPECT_NEAR(m.top_k_accuracy(3), 3.0 / 4, 1e-12);
  EXPECT_THROW(m.top_k_accuracy(4), ConfigError);
}

TEST(MulticlassMetrics, IgnoreIndexDropsSamples) {
  torch::manual_seed(3);
  const auto scores = torch::randn({30, 4});
  auto target = torch::randint(0, 4, {30}, torch::kInt64);
  target.index_put_({torch::arange(0, 30, 3)}, -100);
  MulticlassMetrics m({.num_classes = 4, .top_k = {2}, .ignore_index = -100});
  m.update(scores, target);
  Reference ref(4, {2});
  ref.add(scores, target, -100);
  expect_matches(m, ref);
  EXPECT_EQ(m.num_samples(), 20);
  // An in-range ignore_index works the same way.
  MulticlassMetrics in_range({.num_classes = 4, .ignore_index = 0});
  in_range.update(scores, target.clamp_min(0));
  Reference ref0(4, {});
  ref0.add(scores, target.clamp_min(0), 0);
  expect_matches(in_range, ref0);
}

TEST(MulticlassMetrics, BadInputsSayWhatAndWhere) {
  MulticlassMetrics m({.num_classes = 3});
  m.update(torch::randn({2, 3}), torch::tensor({0, 1}));
  EXPECT_EQ(error_text([&] { m.update(torch::randn({4, 3}), torch::tensor({0, 1, 2})); }),
            "multiclass metrics update #2: preds has shape [4, 3] and target [3]: expected float scores [B, 3] (or "
            "integer labels [B]) and integer targets [B] with the same B");
  EXPECT_EQ(error_text([&] { m.update(torch::randn({2, 4}), torch::tensor({0, 1})); }),
            "multiclass metrics update #3: preds has shape [2, 4] and target [2]: expected float scores [B, 3] (or "
            "integer labels [B]) and integer targets [B] with the same B");
  EXPECT_EQ(error_text([&] { m.update(torch::randn({3, 3}), torch::tensor({0, 3, 1})); }),
            "multiclass metrics update #4: target 3 (row 1 after ignore_index) is out of range: expected a class in "
            "[0, 3)");
  auto nan_scores = torch::zeros({2, 3});
  nan_scores[1][2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(error_text([&] { m.update(nan_scores, torch::tensor({0, 1})); }),
            "multiclass metrics update #5: preds has NaN at [1, 2] (1 NaN of 6): expected finite logits or "
            "probabilities; check the model output for this batch");
  EXPECT_EQ(error_text([&] { m.update(torch::randn({2, 3}), torch::tensor({0.f, 1.f})); }),
            "multiclass metrics update #6: target has dtype Float: expected integer class indices");
  // Nothing from the failed updates was counted.
  EXPECT_EQ(m.num_samples(), 2);
  EXPECT_EQ(error_text([] { MulticlassMetrics({.num_classes = 3, .top_k = {5}}); }),
            "multiclass metrics: 'top_k': expected each k in [2, num_classes = 3], got 5; top-1 is always computed, "
            "and top-k needs at least k classes");
  EXPECT_EQ(error_text([] { MulticlassMetrics({.num_classes = 0}); }),
            "multiclass metrics: 'num_classes': expected >= 1, got 0");
  MulticlassMetrics other({.num_classes = 4});
  EXPECT_THROW(m.merge(other), ConfigError);
}

}  // namespace
}  // namespace autotimm
