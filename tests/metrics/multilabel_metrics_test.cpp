// Multi-label metrics: thresholded counts and mAP against brute-force references, ties, labels without positives,
// the logits/probabilities rule, streaming, merging, ignore_index and the input errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "autotimm/error.hpp"
#include "autotimm/metrics/classification_metrics.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

using testing::error_text;

double div(double a, double b) { return b == 0 ? 0.0 : a / b; }

// AP from its definition: for each distinct score v (descending), precision and recall of "score >= v".
double reference_ap(const std::vector<float>& s, const std::vector<int>& t) {
  std::set<float, std::greater<>> thresholds(s.begin(), s.end());
  double positives = 0;
  for (auto y : t) positives += y;
  if (positives == 0) return std::nan("");
  double ap = 0, previous = 0;
  for (const auto v : thresholds) {
    double tp = 0, n = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] >= v) {
        n += 1;
        tp += t[i];
      }
    }
    ap += (tp / positives - previous) * tp / n;
    previous = tp / positives;
  }
  return ap;
}

struct Reference {
  std::int64_t c;
  double threshold;
  std::vector<std::vector<float>> probs;  // per label
  std::vector<std::vector<int>> targets;  // per label, ignored entries dropped
  std::vector<double> tp, fp, tn, fn;
  Reference(std::int64_t labels, double thr)
      : c(labels), threshold(thr), probs(labels), targets(labels), tp(labels), fp(labels), tn(labels), fn(labels) {}
  void add(const torch::Tensor& preds, const torch::Tensor& target, bool logits, std::optional<int> ignore = {}) {
    // torch's sigmoid, as the metric uses: a hand-written one can differ by an ulp and make or break ties.
    const auto probs_in = logits ? preds.sigmoid() : preds;
    for (std::int64_t i = 0; i < preds.size(0); ++i) {
      for (std::int64_t j = 0; j < c; ++j) {
        const auto y = static_cast<int>(target[i][j].item<double>());
        if (ignore && y == *ignore) continue;
        const float p = probs_in[i][j].item<float>();
        const bool hit = p > threshold;
        (hit ? (y ? tp : fp) : (y ? fn : tn))[j] += 1;
        probs[j].push_back(p);
        targets[j].push_back(y);
      }
    }
  }
  double label_f1(std::int64_t j) const { return div(2 * tp[j], 2 * tp[j] + fp[j] + fn[j]); }
  double macro_f1() const {
    double s = 0;
    for (std::int64_t j = 0; j < c; ++j) s += label_f1(j);
    return s / c;
  }
  double micro_f1() const {
    double a = 0, b = 0;
    for (std::int64_t j = 0; j < c; ++j) {
      a += 2 * tp[j];
      b += 2 * tp[j] + fp[j] + fn[j];
    }
    return div(a, b);
  }
  double macro_accuracy() const {
    double s = 0;
    for (std::int64_t j = 0; j < c; ++j) s += div(tp[j] + tn[j], tp[j] + tn[j] + fp[j] + fn[j]);
    return s / c;
  }
  double micro_accuracy() const {
    double a = 0, b = 0;
    for (std::int64_t j = 0; j < c; ++j) {
      a += tp[j] + tn[j];
      b += tp[j] + tn[j] + fp[j] + fn[j];
    }
    return div(a, b);
  }
  double map() const {
    double s = 0, n = 0;
    for (std::int64_t j = 0; j < c; ++j) {
      const auto ap = reference_ap(probs[j], targets[j]);
      if (!std::isnan(ap)) {
        s += ap;
        n += 1;
      }
    }
    return n ? s / n : std::nan("");
  }
  double map_micro() const {
    std::vector<float> s;
    std::vector<int> t;
    for (std::int64_t j = 0; j < c; ++j) {
      s.insert(s.end(), probs[j].begin(), probs[j].end());
      t.insert(t.end(), targets[j].begin(), targets[j].end());
    }
    return reference_ap(s, t);
  }
};

void expect_matches(const MultilabelMetrics& m, const Reference& r) {
  const auto v = m.compute();
  EXPECT_NEAR(v.at("accuracy"), r.macro_accuracy(), 1e-12);
  EXPECT_NEAR(v.at("accuracy_micro"), r.micro_accuracy(), 1e-12);
  EXPECT_NEAR(v.at("f1_macro"), r.macro_f1(), 1e-12);
  EXPECT_NEAR(v.at("f1_micro"), r.micro_f1(), 1e-12);
  EXPECT_NEAR(v.at("map"), r.map(), 1e-9);
  EXPECT_NEAR(v.at("map_micro"), r.map_micro(), 1e-9);
  const auto cm = m.confusion_matrix();
  for (std::int64_t j = 0; j < r.c; ++j) {
    EXPECT_EQ(cm[j][1][1].item<std::int64_t>(), static_cast<std::int64_t>(r.tp[j]));
    EXPECT_EQ(cm[j][0][1].item<std::int64_t>(), static_cast<std::int64_t>(r.fp[j]));
    EXPECT_EQ(cm[j][0][0].item<std::int64_t>(), static_cast<std::int64_t>(r.tn[j]));
    EXPECT_EQ(cm[j][1][0].item<std::int64_t>(), static_cast<std::int64_t>(r.fn[j]));
  }
}

TEST(MultilabelMetrics, MatchesBruteForceOverSeedsAndBatches) {
  for (std::int64_t seed = 0; seed < 6; ++seed) {
    torch::manual_seed(seed);
    const std::int64_t c = 2 + seed;
    const double threshold = seed % 2 ? 0.5 : 0.3;
    MultilabelMetrics metrics({.num_labels = c, .threshold = threshold});
    Reference ref(c, threshold);
    for (int batch = 0; batch < 3; ++batch) {
      const bool logits = batch != 1;  // batch 1 is probabilities: no sigmoid
      // Rounded scores make ties, which mAP must group.
      auto preds = logits ? torch::round(torch::randn({6 + batch, c}) * 4) / 4 : torch::round(torch::rand({6 + batch, c}) * 8) / 8;
      const auto target = torch::randint(0, 2, {6 + batch, c}, torch::kInt64);
      metrics.update(preds, target);
      ref.add(preds, target, logits);
    }
    SCOPED_TRACE("seed " + std::to_string(seed));
    expect_matches(metrics, ref);
  }
}

TEST(MultilabelMetrics, StreamingEqualsOneBatchAndMergeEqualsBoth) {
  torch::manual_seed(5);
  const auto logits = torch::randn({24, 4}) * 3;
  const auto target = torch::randint(0, 2, {24, 4}).to(torch::kFloat32);  // BCE-style float targets
  MultilabelMetrics whole({.num_labels = 4});
  whole.update(logits, target);
  MultilabelMetrics streamed({.num_labels = 4});
  MultilabelMetrics a({.num_labels = 4});
  MultilabelMetrics b({.num_labels = 4});
  for (int i = 0; i < 3; ++i) {
    streamed.update(logits.slice(0, i * 8, i * 8 + 8), target.slice(0, i * 8, i * 8 + 8));
    (i == 1 ? b : a).update(logits.slice(0, i * 8, i * 8 + 8), target.slice(0, i * 8, i * 8 + 8));
  }
  a.merge(b);
  EXPECT_EQ(streamed.compute(), whole.compute());
  // Merge appends the scores in another order; AP depends on the ranking only.
  const auto merged = a.compute();
  for (const auto& [name, value] : whole.compute()) EXPECT_NEAR(merged.at(name), value, 1e-12) << name;
  EXPECT_EQ(a.num_samples(), 24);
  EXPECT_EQ(a.scores().sizes(), torch::IntArrayRef({24, 4}));
  whole.reset();
  EXPECT_EQ(whole.num_samples(), 0);
  EXPECT_TRUE(std::isnan(whole.compute().at("map")));
}

TEST(MultilabelMetrics, AveragePrecisionWithTiesHandComputed) {
  // sklearn's example: targets 0 0 1 1, scores .1 .4 .35 .8 -> thresholds .8 (P 1, R .5), .4 (P 1/2), .35 (P 2/3,
  // R 1): AP = .5 * 1 + .5 * 2/3 = 0.8333…
  EXPECT_NEAR(average_precision(torch::tensor({0.1f, 0.4f, 0.35f, 0.8f}), torch::tensor({0, 0, 1, 1})), 5.0 / 6, 1e-12);
  // Three tied scores are one threshold: P 2/3 at R 1 -> AP 2/3 (any order of the ties would give 1, .833 or .583).
  EXPECT_NEAR(average_precision(torch::tensor({0.8f, 0.8f, 0.8f}), torch::tensor({1, 0, 1})), 2.0 / 3, 1e-12);
  // .9 (P 1, R .5), then .8 twice tied (P 2/3, R 1): .5 + .5 * 2/3.
  EXPECT_NEAR(average_precision(torch::tensor({0.9f, 0.8f, 0.8f, 0.3f}), torch::tensor({1, 0, 1, 0})), 5.0 / 6, 1e-12);
  EXPECT_TRUE(std::isnan(average_precision(torch::tensor({0.9f, 0.1f}), torch::tensor({0, 0}))));
}

TEST(MultilabelMetrics, LabelsWithoutPositivesLeaveTheMapMean) {
  // Label 0: .9 positive above .1 -> AP 1; label 1: no positives -> NaN, left out; label 2: .7 negative above
  // .3 positive -> AP 1/2. mAP = (1 + 1/2) / 2.
  MultilabelMetrics m({.num_labels = 3});
  m.update(torch::tensor({0.9f, 0.2f, 0.3f, 0.1f, 0.4f, 0.7f}).view({2, 3}), torch::tensor({1, 0, 1, 0, 0, 0}).view({2, 3}));
  const auto per_label = m.average_precision_per_label();
  EXPECT_DOUBLE_EQ(per_label[0].item<double>(), 1.0);
  EXPECT_TRUE(std::isnan(per_label[1].item<double>()));
  EXPECT_DOUBLE_EQ(per_label[2].item<double>(), 0.5);
  EXPECT_DOUBLE_EQ(m.mean_average_precision(), 0.75);
  // Macro F1 keeps label 1 (never predicted, never a target: F1 0), unlike single-label macro, which would drop it:
  // label 0 F1 1, label 1 F1 0, label 2 (fp on row 1, fn on row 0) F1 0 -> 1/3, not 1/2.
  EXPECT_NEAR(m.f1(Average::macro), 1.0 / 3, 1e-12);
}

TEST(MultilabelMetrics, AccuracyMacroIsMeanOverLabels) {
  // torchmetrics' example: target [[0,1,0],[1,0,1]], preds [[0.11,0.22,0.84],[0.73,0.33,0.92]] -> 0.6667 macro,
  // per label [1, .5, .5].
  MultilabelMetrics m({.num_labels = 3});
  m.update(torch::tensor({0.11f, 0.22f, 0.84f, 0.73f, 0.33f, 0.92f}).view({2, 3}),
           torch::tensor({0, 1, 0, 1, 0, 1}).view({2, 3}));
  EXPECT_NEAR(m.accuracy(), 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.accuracy(Average::micro), 4.0 / 6, 1e-12);
}

TEST(MultilabelMetrics, ThresholdIsStrictAndLogitsAreDetected) {
  MultilabelMetrics m({.num_labels = 2});
  // Probabilities (all in [0, 1]): 0.5 is not > 0.5.
  m.update(torch::tensor({0.5f, 0.51f}).view({1, 2}), torch::tensor({1, 1}).view({1, 2}));
  EXPECT_NEAR(m.recall(Average::micro), 0.5, 1e-12);
  MultilabelMetrics l({.num_labels = 2});
  // 2.0 is outside [0, 1]: the update is logits, sigmoid(0.4) > .5 and sigmoid(-0.1) < .5.
  l.update(torch::tensor({0.4f, -0.1f, 2.0f, 0.0f}).view({2, 2}), torch::tensor({1, 1, 1, 1}).view({2, 2}));
  EXPECT_NEAR(l.recall(Average::micro), 2.0 / 4, 1e-12);
  MultilabelMetrics forced({.num_labels = 2, .inputs = MultilabelInputs::logits});
  forced.update(torch::tensor({0.4f, 0.6f}).view({1, 2}), torch::tensor({1, 1}).view({1, 2}));
  EXPECT_NEAR(forced.recall(Average::micro), 1.0, 1e-12);  // sigmoid(.4), sigmoid(.6) both > .5
}

TEST(MultilabelMetrics, IgnoreIndexDropsEntries) {
  torch::manual_seed(9);
  const auto logits = torch::randn({12, 3});
  auto target = torch::randint(0, 2, {12, 3}, torch::kInt64);
  target.index_put_({torch::rand({12, 3}) < 0.3}, -1);
  MultilabelMetrics m({.num_labels = 3, .ignore_index = -1});
  m.update(logits, target);
  Reference ref(3, 0.5);
  ref.add(logits, target, true, -1);
  expect_matches(m, ref);
}

TEST(MultilabelMetrics, BadInputsSayWhatAndWhere) {
  MultilabelMetrics m({.num_labels = 3});
  EXPECT_EQ(error_text([&] { m.update(torch::randn({2, 3}), torch::tensor({0, 1})); }),
            "multilabel metrics update #1: preds has shape [2, 3] and target [2]: expected both [B, 3]");
  EXPECT_EQ(error_text([&] { m.update(torch::randn({2, 3}), torch::tensor({0, 1, 2, 0, 0, 1}).view({2, 3})); }),
            "multilabel metrics update #2: target[0, 2] is 2.000000: expected 0 or 1");
  auto nan_scores = torch::zeros({2, 3});
  nan_scores[0][1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(error_text([&] { m.update(nan_scores, torch::zeros({2, 3})); }),
            "multilabel metrics update #3: preds has NaN at [0, 1] (1 NaN of 6): expected finite logits or "
            "probabilities; check the model output for this batch");
  EXPECT_EQ(error_text([&] { m.update(torch::ones({2, 3}, torch::kInt64), torch::zeros({2, 3})); }),
            "multilabel metrics update #4: preds has dtype Long: expected float logits or probabilities");
  MultilabelMetrics p({.num_labels = 1, .inputs = MultilabelInputs::probabilities});
  EXPECT_EQ(error_text([&] { p.update(torch::tensor({1.5f}).view({1, 1}), torch::ones({1, 1})); }),
            "multilabel metrics update #1: preds has values outside [0, 1] (min 1.500000, max 1.500000) but inputs = "
            "probabilities: expected probabilities, or set inputs = logits");
  EXPECT_EQ(m.num_samples(), 0);
  MultilabelMetrics no_ap({.num_labels = 3, .average_precision = false});
  EXPECT_EQ(no_ap.compute().count("map"), 0u);
  EXPECT_THROW(no_ap.mean_average_precision(), ConfigError);
  EXPECT_THROW(m.merge(no_ap), ConfigError);
  EXPECT_THROW(MultilabelMetrics({.num_labels = 3, .threshold = 1.5}), ConfigError);
}

}  // namespace
}  // namespace autotimm
