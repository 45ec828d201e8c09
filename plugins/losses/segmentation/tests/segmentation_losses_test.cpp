// The segmentation losses against values computed by hand in doubles: a 1x3x2x2 case (three classes, four pixels, one
// of them ignored) for every loss; class weights, label smoothing, alpha and gamma; the identities between losses
// (tversky 0.5/0.5 = dice, focal gamma 0 = ce, combined = weighted sum); exact predictions; autograd gradients against
// finite differences; the ignored pixel and the all-ignored batch; and every message.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "autotimm/error.hpp"
#include "autotimm/loss.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "support/error_text.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::segmentation_losses {
namespace {

using autotimm::testing::error_text;

constexpr int kClasses = 3;
constexpr int kPixels = 4;
constexpr std::int64_t kIgnore = 255;
using Logits = std::array<std::array<double, kClasses>, kPixels>;
using Labels = std::array<std::int64_t, kPixels>;
using PerClass = std::vector<double>;

/// The loss registered as segmentation_<name>.
std::shared_ptr<Loss> make(const std::string& name, const std::string& options = "{}") {
  auto config = Config::parse(options, "loss options");
  auto loss = autotimm::testing::registry_of(autotimm_plugin_descriptor())
                  .losses()
                  .get("segmentation_" + name)
                  .factory(config);
  config.expect_all_used();
  return loss;
}

double value(const torch::Tensor& t) { return t.item<double>(); }

// --- the case -----------------------------------------------------------------------------------------------------

// Pixels in row-major order (h, w) = (0, 0), (0, 1), (1, 0), (1, 1); one row of three class logits each. Pixel 2 is
// ignored: its large logits would dominate every loss if they counted.
const Logits kLogits = {{{1.0, 0.5, -0.5}, {0.2, -1.0, 0.8}, {3.0, -2.0, 1.0}, {-0.3, 0.7, 0.1}}};
const Labels kLabels = {0, 2, kIgnore, 1};

struct Case {
  Logits logits = kLogits;
  Labels labels = kLabels;

  // [1, 3, 2, 2] doubles (so that the hand arithmetic is matched to ~1e-12), a leaf that collects gradients.
  torch::Tensor logits_tensor() const {
    std::vector<double> flat;
    for (const auto& pixel : logits) flat.insert(flat.end(), pixel.begin(), pixel.end());
    return torch::tensor(flat, torch::kDouble).view({1, 2, 2, kClasses}).permute({0, 3, 1, 2}).contiguous()
        .requires_grad_(true);
  }
  torch::Tensor labels_tensor() const {
    return torch::tensor(std::vector<std::int64_t>(labels.begin(), labels.end()), torch::kLong).view({1, 2, 2});
  }
  LossOutput run(Loss& loss, const torch::Tensor& logits_leaf) const {
    return loss.forward({{"logits", logits_leaf}}, {{"labels", labels_tensor()}});
  }
  LossOutput run(Loss& loss) const { return run(loss, logits_tensor()); }
};

// --- the formulas, written out ------------------------------------------------------------------------------------

std::array<double, kClasses> softmax(const std::array<double, kClasses>& z) {
  const double total = std::exp(z[0]) + std::exp(z[1]) + std::exp(z[2]);
  return {std::exp(z[0]) / total, std::exp(z[1]) / total, std::exp(z[2]) / total};
}

double weight_of(const PerClass& weights, std::int64_t c) { return weights.empty() ? 1.0 : weights[c]; }

// torch's cross_entropy(weight, ignore_index, label_smoothing) with mean reduction:
// (1 − s) · Σ w_y · nll / Σ w_y + (s / C) · Σ_i Σ_c w_c · (−log p_c) / Σ w_y.
double expected_ce(const Case& c, const PerClass& weights = {}, double smoothing = 0.0) {
  double weighted_nll = 0, weight_sum = 0, uniform = 0;
  for (int i = 0; i < kPixels; ++i) {
    if (c.labels[i] == kIgnore) continue;
    const auto p = softmax(c.logits[i]);
    const double w_y = weight_of(weights, c.labels[i]);
    weighted_nll += w_y * -std::log(p[c.labels[i]]);
    weight_sum += w_y;
    for (int k = 0; k < kClasses; ++k) uniform += weight_of(weights, k) * -std::log(p[k]);
  }
  return (1 - smoothing) * weighted_nll / weight_sum + smoothing / kClasses * uniform / weight_sum;
}

struct Sums {
  std::array<double, kClasses> tp{}, predicted{}, target{};
};

Sums class_sums(const Case& c) {
  Sums s;
  for (int i = 0; i < kPixels; ++i) {
    if (c.labels[i] == kIgnore) continue;
    const auto p = softmax(c.logits[i]);
    for (int k = 0; k < kClasses; ++k) {
      const double g = c.labels[i] == k ? 1.0 : 0.0;
      s.tp[k] += p[k] * g;
      s.predicted[k] += p[k];
      s.target[k] += g;
    }
  }
  return s;
}

// Mean of a per-class loss over the classes with a counted target pixel, weighted when weights are given.
template <class PerClassLoss>
double mean_over_present(const Sums& s, const PerClass& weights, PerClassLoss&& per_class) {
  double total = 0, weight_sum = 0;
  for (int k = 0; k < kClasses; ++k) {
    if (s.target[k] == 0) continue;
    total += weight_of(weights, k) * per_class(k);
    weight_sum += weight_of(weights, k);
  }
  return total / weight_sum;
}

double expected_dice(const Case& c, double smooth = 1.0, const PerClass& weights = {}) {
  const auto s = class_sums(c);
  return mean_over_present(s, weights, [&](int k) {
    return 1 - (2 * s.tp[k] + smooth) / (s.predicted[k] + s.target[k] + smooth);
  });
}

double expected_tversky(const Case& c, double alpha, double beta, double smooth, const PerClass& weights = {}) {
  const auto s = class_sums(c);
  return mean_over_present(s, weights, [&](int k) {
    const double fp = s.predicted[k] - s.tp[k], fn = s.target[k] - s.tp[k];
    return 1 - (s.tp[k] + smooth) / (s.tp[k] + alpha * fp + beta * fn + smooth);
  });
}

double expected_focal(const Case& c, double gamma, const PerClass& alpha = {}) {
  double total = 0;
  int counted = 0;
  for (int i = 0; i < kPixels; ++i) {
    if (c.labels[i] == kIgnore) continue;
    const double p_y = softmax(c.logits[i])[c.labels[i]];
    total += weight_of(alpha, c.labels[i]) * std::pow(1 - p_y, gamma) * -std::log(p_y);
    ++counted;
  }
  return total / counted;
}

// --- registration ---------------------------------------------------------------------------------------------------

TEST(SegmentationLosses, RegistersEveryLoss) {
  const auto names = autotimm::testing::registry_of(autotimm_plugin_descriptor()).losses().list();
  EXPECT_EQ(names, (std::vector<std::string>{"segmentation_ce", "segmentation_combined", "segmentation_dice",
                                             "segmentation_focal", "segmentation_tversky"}));
}

// --- ce -----------------------------------------------------------------------------------------------------------

TEST(SegmentationCrossEntropy, MeanOverCountedPixels) {
  const Case c;
  const auto out = c.run(*make("ce"));
  // Pixel 0: −log softmax(1, 0.5, −0.5)[0]; pixel 1: −log softmax(0.2, −1, 0.8)[2]; pixel 3: −log softmax(−0.3, 0.7,
  // 0.1)[1]; pixel 2 left out, so the mean divides by 3.
  const double by_hand = (-std::log(std::exp(1.0) / (std::exp(1.0) + std::exp(0.5) + std::exp(-0.5))) -
                          std::log(std::exp(0.8) / (std::exp(0.2) + std::exp(-1.0) + std::exp(0.8))) -
                          std::log(std::exp(0.7) / (std::exp(-0.3) + std::exp(0.7) + std::exp(0.1)))) /
                         3.0;
  EXPECT_NEAR(value(out.total), by_hand, 1e-12);
  EXPECT_NEAR(value(out.total), expected_ce(c), 1e-12);
  EXPECT_TRUE(out.terms.empty());  // the total is not repeated as a term
}

TEST(SegmentationCrossEntropy, ClassWeightsAndLabelSmoothing) {
  const Case c;
  const PerClass weights = {0.5, 2.0, 1.0};
  EXPECT_NEAR(value(c.run(*make("ce", R"({"class_weights": [0.5, 2.0, 1.0]})")).total), expected_ce(c, weights),
              1e-12);
  EXPECT_NEAR(value(c.run(*make("ce", R"({"label_smoothing": 0.1})")).total), expected_ce(c, {}, 0.1), 1e-12);
  const double both = expected_ce(c, weights, 0.1);
  EXPECT_NEAR(value(c.run(*make("ce", R"({"class_weights": [0.5, 2.0, 1.0], "label_smoothing": 0.1})")).total),
              both, 1e-12);
  // The weighted mean divides by Σ w_y = 0.5 + 1.0 + 2.0 (pixels of classes 0, 2, 1), not by the pixel count.
  EXPECT_GT(std::abs(both - expected_ce(c, {}, 0.1)), 1e-3);
}

TEST(SegmentationCrossEntropy, MatchesTorchCrossEntropy) {
  const Case c;
  const auto logits = c.logits_tensor();
  const auto labels = c.labels_tensor();
  namespace F = torch::nn::functional;
  const auto weight = torch::tensor({0.5, 2.0, 1.0}, torch::kDouble);
  EXPECT_NEAR(value(make("ce")->forward({{"logits", logits}}, {{"labels", labels}}).total),
              value(F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().ignore_index(kIgnore))), 1e-12);
  EXPECT_NEAR(
      value(make("ce", R"({"label_smoothing": 0.2})")->forward({{"logits", logits}}, {{"labels", labels}}).total),
              value(F::cross_entropy(logits, labels,
                                     F::CrossEntropyFuncOptions().ignore_index(kIgnore).label_smoothing(0.2))),
              1e-12);
  EXPECT_NEAR(
      value(make("ce", R"({"class_weights": [0.5, 2.0, 1.0], "label_smoothing": 0.2})")
                ->forward({{"logits", logits}}, {{"labels", labels}})
                .total),
      value(F::cross_entropy(logits, labels,
                             F::CrossEntropyFuncOptions().ignore_index(kIgnore).weight(weight).label_smoothing(0.2))),
      1e-12);
}

TEST(SegmentationCrossEntropy, GradientIsSoftmaxMinusOneHotOverCount) {
  const Case c;
  const auto logits = c.logits_tensor();
  c.run(*make("ce"), logits).total.backward();
  const auto grad = logits.grad();
  for (int i = 0; i < kPixels; ++i) {
    const auto p = softmax(c.logits[i]);
    for (int k = 0; k < kClasses; ++k) {
      const double expected = c.labels[i] == kIgnore ? 0.0 : (p[k] - (c.labels[i] == k ? 1.0 : 0.0)) / 3.0;
      EXPECT_NEAR(value(grad[0][k][i / 2][i % 2]), expected, 1e-12) << "pixel " << i << ", class " << k;
    }
  }
}

// --- dice ---------------------------------------------------------------------------------------------------------

TEST(SegmentationDice, KnownCase) {
  const Case c;
  // Class 0, written out: TP = p0[0], Σp = p0[0] + p1[0] + p3[0], Σg = 1 (pixel 2 is ignored and left out).
  const auto p0 = softmax(kLogits[0]), p1 = softmax(kLogits[1]), p3 = softmax(kLogits[3]);
  const double dice0 = 1 - (2 * p0[0] + 1) / (p0[0] + p1[0] + p3[0] + 1 + 1);
  const double dice1 = 1 - (2 * p3[1] + 1) / (p0[1] + p1[1] + p3[1] + 1 + 1);
  const double dice2 = 1 - (2 * p1[2] + 1) / (p0[2] + p1[2] + p3[2] + 1 + 1);
  const auto out = c.run(*make("dice"));
  EXPECT_NEAR(value(out.total), (dice0 + dice1 + dice2) / 3, 1e-12);
  EXPECT_NEAR(value(out.total), expected_dice(c), 1e-12);
  EXPECT_TRUE(out.terms.empty());  // the total is not repeated as a term
  EXPECT_NEAR(value(c.run(*make("dice", R"({"smooth": 0.0})")).total), expected_dice(c, 0.0), 1e-12);
  EXPECT_NEAR(value(c.run(*make("dice", R"({"smooth": 0.5, "class_weights": [1.0, 3.0, 0.5]})")).total),
              expected_dice(c, 0.5, {1.0, 3.0, 0.5}), 1e-12);
}

TEST(SegmentationDice, AveragesOverClassesPresentInTheLabels) {
  Case c;
  c.labels = {0, 0, kIgnore, 1};  // no pixel of class 2
  const auto s = class_sums(c);
  ASSERT_EQ(s.target[2], 0.0);
  const auto dice = [&](int k) { return 1 - (2 * s.tp[k] + 1) / (s.predicted[k] + s.target[k] + 1); };
  EXPECT_NEAR(value(c.run(*make("dice")).total), (dice(0) + dice(1)) / 2, 1e-12);
  // Class 2's weight plays no part: it has no target pixel.
  EXPECT_NEAR(value(c.run(*make("dice", R"({"class_weights": [1.0, 1.0, 100.0]})")).total), (dice(0) + dice(1)) / 2,
              1e-12);
}

// Logits 40 for the labelled class, 0 elsewhere: softmax gives 1 (to double precision) where the label is.
Case exact_case() {
  Case c;
  for (int i = 0; i < kPixels; ++i) {
    if (c.labels[i] == kIgnore) continue;
    c.logits[i] = {0.0, 0.0, 0.0};
    c.logits[i][c.labels[i]] = 40.0;
  }
  return c;  // pixel 2 keeps its (wrong, ignored) logits
}

TEST(SegmentationDice, ExactPredictionsGiveZero) {
  const auto c = exact_case();
  EXPECT_NEAR(value(c.run(*make("dice")).total), 0.0, 1e-12);
  EXPECT_NEAR(value(c.run(*make("dice", R"({"smooth": 0.0})")).total), 0.0, 1e-12);
  EXPECT_NEAR(value(c.run(*make("tversky")).total), 0.0, 1e-12);
  EXPECT_NEAR(value(c.run(*make("tversky", R"({"alpha": 0.9, "beta": 0.1, "smooth": 0.0})")).total), 0.0, 1e-12);
  EXPECT_NEAR(value(c.run(*make("ce")).total), 0.0, 1e-12);
  EXPECT_NEAR(value(c.run(*make("focal")).total), 0.0, 1e-12);
}

// --- tversky ------------------------------------------------------------------------------------------------------

TEST(SegmentationTversky, KnownCase) {
  const Case c;
  // Class 1, written out: TP = p3[1], FP = p0[1] + p1[1], FN = 1 − p3[1].
  const auto p0 = softmax(kLogits[0]), p1 = softmax(kLogits[1]), p3 = softmax(kLogits[3]);
  const double tversky1 = 1 - (p3[1] + 1) / (p3[1] + 0.3 * (p0[1] + p1[1]) + 0.7 * (1 - p3[1]) + 1);
  const double expected = expected_tversky(c, 0.3, 0.7, 1.0);
  const auto s = class_sums(c);
  EXPECT_NEAR(tversky1, 1 - (s.tp[1] + 1) / (s.tp[1] + 0.3 * (s.predicted[1] - s.tp[1]) +
                                            0.7 * (s.target[1] - s.tp[1]) + 1),
              1e-12);
  const auto out = c.run(*make("tversky", R"({"alpha": 0.3, "beta": 0.7})"));
  EXPECT_NEAR(value(out.total), expected, 1e-12);
  EXPECT_TRUE(out.terms.empty());  // the total is not repeated as a term
  EXPECT_NEAR(value(c.run(*make("tversky", R"({"alpha": 0.7, "beta": 0.3, "smooth": 0.0,
                                                 "class_weights": [2.0, 1.0, 1.0]})")).total),
              expected_tversky(c, 0.7, 0.3, 0.0, {2.0, 1.0, 1.0}), 1e-12);
}

TEST(SegmentationTversky, HalfAndHalfIsDice) {
  const Case c;
  // (TP + s) / (TP + (Σp − TP)/2 + (Σg − TP)/2 + s) = (2TP + 2s) / (Σp + Σg + 2s): Dice with twice the smoothing.
  EXPECT_NEAR(value(c.run(*make("tversky", R"({"smooth": 0.0})")).total),
              value(c.run(*make("dice", R"({"smooth": 0.0})")).total), 1e-12);
  EXPECT_NEAR(value(c.run(*make("tversky", R"({"smooth": 1.0})")).total),
              value(c.run(*make("dice", R"({"smooth": 2.0})")).total), 1e-12);
  // With the same smoothing they differ (0.2247 against 0.2995 here).
  EXPECT_GT(std::abs(value(c.run(*make("tversky")).total) - value(c.run(*make("dice")).total)), 0.05);
}

// --- focal --------------------------------------------------------------------------------------------------------

TEST(SegmentationFocal, KnownCase) {
  const Case c;
  // Pixel 0 (class 0) written out: −alpha_0 (1 − p)^2 log p with p = softmax(1, 0.5, −0.5)[0].
  const double p = std::exp(1.0) / (std::exp(1.0) + std::exp(0.5) + std::exp(-0.5));
  EXPECT_NEAR(expected_focal(Case{.logits = kLogits, .labels = {0, kIgnore, kIgnore, kIgnore}}, 2.0, {0.25, 0.5, 0.75}),
              0.25 * (1 - p) * (1 - p) * -std::log(p), 1e-15);
  const auto out = c.run(*make("focal"));
  EXPECT_NEAR(value(out.total), expected_focal(c, 2.0), 1e-12);
  EXPECT_TRUE(out.terms.empty());  // the total is not repeated as a term
  EXPECT_NEAR(value(c.run(*make("focal", R"({"alpha": [0.25, 0.5, 0.75], "gamma": 1.5})")).total),
              expected_focal(c, 1.5, {0.25, 0.5, 0.75}), 1e-12);
  EXPECT_NEAR(value(c.run(*make("focal", R"({"alpha": null, "gamma": 0.5})")).total), expected_focal(c, 0.5), 1e-12);
  // Focusing lowers the loss of every pixel (each 1 − p_y < 1).
  EXPECT_LT(value(out.total), expected_ce(c));
}

TEST(SegmentationFocal, GammaZeroIsCrossEntropy) {
  const Case c;
  EXPECT_NEAR(value(c.run(*make("focal", R"({"gamma": 0.0})")).total), value(c.run(*make("ce")).total), 1e-12);
}

TEST(SegmentationFocal, SaturatedSoftmaxKeepsGradientsFinite) {
  // p_y = 1 exactly in double: with gamma < 1, pow's derivative at 1 − p_y = 0 would be infinite.
  const auto c = exact_case();
  const auto logits = c.logits_tensor();
  const auto out = c.run(*make("focal", R"({"gamma": 0.5})"), logits);
  out.total.backward();
  EXPECT_TRUE(torch::isfinite(logits.grad()).all().item<bool>());
  EXPECT_NEAR(value(out.total), 0.0, 1e-12);
}

// --- combined -----------------------------------------------------------------------------------------------------

TEST(SegmentationCombined, WeightedSumOfCrossEntropyAndDice) {
  const Case c;
  const auto out = c.run(*make("combined"));
  ASSERT_EQ(out.terms.size(), 2u);
  EXPECT_NEAR(value(out.terms.at("loss_ce")), expected_ce(c), 1e-12);
  EXPECT_NEAR(value(out.terms.at("loss_dice")), expected_dice(c), 1e-12);
  EXPECT_NEAR(value(out.total), expected_ce(c) + expected_dice(c), 1e-12);

  const PerClass weights = {0.5, 2.0, 1.0};
  const auto weighted = c.run(*make("combined", R"({"ce_weight": 0.4, "dice_weight": 1.5,
                                                    "class_weights": [0.5, 2.0, 1.0], "ignore_index": 255})"));
  // The terms stay unweighted; both see the class weights.
  EXPECT_NEAR(value(weighted.terms.at("loss_ce")), expected_ce(c, weights), 1e-12);
  EXPECT_NEAR(value(weighted.terms.at("loss_dice")), expected_dice(c, 1.0, weights), 1e-12);
  EXPECT_NEAR(value(weighted.total), 0.4 * expected_ce(c, weights) + 1.5 * expected_dice(c, 1.0, weights), 1e-12);
}

// --- every loss: ignored pixels, gradients, all ignored -------------------------------------------------------------

const std::vector<std::pair<std::string, std::string>> kEveryLoss = {
    {"ce", R"({"class_weights": [0.5, 2.0, 1.0], "label_smoothing": 0.1})"},
    {"dice", R"({"class_weights": [1.0, 3.0, 0.5]})"},
    {"focal", R"({"alpha": [0.25, 0.5, 0.75], "gamma": 2.0})"},
    {"tversky", R"({"alpha": 0.3, "beta": 0.7})"},
    {"combined", R"({"ce_weight": 0.4, "dice_weight": 1.5})"}};

TEST(SegmentationLosses, IgnoredPixelCountsNowhere) {
  Case other;
  other.logits[2] = {-40.0, 100.0, 7.0};
  for (const auto& [name, options] : kEveryLoss) {
    const auto loss = make(name, options);
    const Case c;
    const auto logits = c.logits_tensor(), other_logits = other.logits_tensor();
    const auto a = c.run(*loss, logits), b = other.run(*loss, other_logits);
    EXPECT_EQ(value(a.total), value(b.total)) << name;
    for (const auto& [term, tensor] : a.terms) EXPECT_EQ(value(tensor), value(b.terms.at(term))) << name << " " << term;
    a.total.backward();
    b.total.backward();
    for (const auto& grad : {logits.grad(), other_logits.grad()}) {
      for (int k = 0; k < kClasses; ++k) EXPECT_EQ(value(grad[0][k][1][0]), 0.0) << name << ", class " << k;
    }
    EXPECT_TRUE(torch::equal(logits.grad(), other_logits.grad())) << name;
  }
}

TEST(SegmentationLosses, NonFiniteLogitsAtAnIgnoredPixelCountNowhere) {
  // The ignored pixel's logits never enter the arithmetic, so not even inf or NaN there reaches value or gradient.
  Case other;
  other.logits[2] = {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::quiet_NaN()};
  for (const auto& [name, options] : kEveryLoss) {
    const auto loss = make(name, options);
    const auto logits = other.logits_tensor();
    const auto out = other.run(*loss, logits);
    EXPECT_EQ(value(out.total), value(Case{}.run(*loss).total)) << name;
    out.total.backward();
    EXPECT_TRUE(torch::isfinite(logits.grad()).all().item<bool>()) << name;
  }
}

TEST(SegmentationLosses, GradientsMatchFiniteDifferences) {
  const Case c;
  constexpr double kStep = 1e-6;
  for (const auto& [name, options] : kEveryLoss) {
    const auto loss = make(name, options);
    const auto logits = c.logits_tensor();
    c.run(*loss, logits).total.backward();
    const auto grad = logits.grad();
    for (int i = 0; i < kPixels; ++i) {
      for (int k = 0; k < kClasses; ++k) {
        Case up = c, down = c;
        up.logits[i][k] += kStep;
        down.logits[i][k] -= kStep;
        const double numeric = (value(up.run(*loss).total) - value(down.run(*loss).total)) / (2 * kStep);
        EXPECT_NEAR(value(grad[0][k][i / 2][i % 2]), numeric, 1e-7) << name << ", pixel " << i << ", class " << k;
        if (i != 2) {
          EXPECT_NE(value(grad[0][k][i / 2][i % 2]), 0.0) << name << ", pixel " << i << ", class " << k;
        }
      }
    }
  }
}

TEST(SegmentationLosses, AllIgnoredGivesZeroInTheGraph) {
  Case c;
  c.labels = {kIgnore, kIgnore, kIgnore, kIgnore};
  for (const auto& [name, options] : kEveryLoss) {
    for (const auto& smooth : {std::string(), std::string(R"({"smooth": 0.0})")}) {
      if (!smooth.empty() && (name == "ce" || name == "focal" || name == "combined")) continue;
      const auto loss = make(name, smooth.empty() ? options : smooth);
      const auto logits = c.logits_tensor();
      const auto out = c.run(*loss, logits);
      EXPECT_EQ(value(out.total), 0.0) << name << " " << smooth;
      for (const auto& [term, tensor] : out.terms) EXPECT_EQ(value(tensor), 0.0) << name << " " << term;
      ASSERT_TRUE(out.total.requires_grad()) << name;
      out.total.backward();
      EXPECT_TRUE((logits.grad() == 0).all().item<bool>()) << name << " " << smooth;
    }
  }
}

TEST(SegmentationLosses, FloatLogitsGiveAFloatScalar) {
  const Case c;
  const auto logits = c.logits_tensor().detach().to(torch::kFloat).requires_grad_(true);
  for (const auto& [name, options] : kEveryLoss) {
    const auto out = c.run(*make(name, options), logits);
    EXPECT_EQ(out.total.scalar_type(), torch::kFloat) << name;
    EXPECT_EQ(out.total.dim(), 0) << name;
  }
  EXPECT_NEAR(value(c.run(*make("ce"), logits).total), expected_ce(c), 1e-6);
}

TEST(SegmentationLosses, IgnoreIndexOption) {
  Case c;
  c.labels = {0, 2, 1, 1};
  const auto ignoring_one = make("ce", R"({"ignore_index": 1})");
  // Pixels 2 and 3 (class 1) are left out: the mean over pixels 0 and 1.
  const double by_hand = (-std::log(softmax(kLogits[0])[0]) - std::log(softmax(kLogits[1])[2])) / 2;
  EXPECT_NEAR(value(c.run(*ignoring_one).total), by_hand, 1e-12);
}

// --- messages -----------------------------------------------------------------------------------------------------

TEST(SegmentationLosses, InputMessages) {
  const Case c;
  const auto logits = c.logits_tensor();
  const auto labels = c.labels_tensor();
  const std::string expected_inputs =
      "; expected predictions logits [B, C, H, W] (floating) and targets labels [B, H, W] (int64)";
  EXPECT_EQ(error_text([&] { make("ce")->forward({}, {{"labels", labels}}); }),
            "loss 'segmentation_ce': the predictions have no 'logits'" + expected_inputs);
  EXPECT_EQ(error_text([&] { make("dice")->forward({{"logits", logits}}, {}); }),
            "loss 'segmentation_dice': the targets have no 'labels'" + expected_inputs);
  EXPECT_EQ(error_text([&] { make("focal")->forward({{"logits", torch::zeros({3, 2, 2})}}, {{"labels", labels}}); }),
            "loss 'segmentation_focal': predictions 'logits' must be floating [B, C, H, W] with C >= 1, got Float [3, 2, 2]");
  EXPECT_EQ(error_text([&] {
              make("focal")->forward({{"logits", torch::zeros({1, 3, 2, 2}, torch::kLong)}}, {{"labels", labels}});
            }),
            "loss 'segmentation_focal': predictions 'logits' must be floating [B, C, H, W] with C >= 1, got Long [1, 3, 2, 2]");
  EXPECT_EQ(error_text([&] { make("ce")->forward({{"logits", torch::Tensor()}}, {{"labels", labels}}); }),
            "loss 'segmentation_ce': predictions 'logits' must be floating [B, C, H, W] with C >= 1, got an undefined tensor");
  EXPECT_EQ(error_text([&] { make("tversky")->forward({{"logits", logits}}, {{"labels", labels.to(torch::kFloat)}}); }),
            "loss 'segmentation_tversky': targets 'labels' must be int64 [1, 2, 2] to match logits [1, 3, 2, 2], got Float "
            "[1, 2, 2]; upsample the logits to the label size first");
  EXPECT_EQ(error_text([&] {
              make("combined")->forward({{"logits", logits}}, {{"labels", torch::zeros({1, 4, 4}, torch::kLong)}});
            }),
            "loss 'segmentation_combined': targets 'labels' must be int64 [1, 2, 2] to match logits [1, 3, 2, 2], got Long "
            "[1, 4, 4]; upsample the logits to the label size first");
}

TEST(SegmentationLosses, LabelValueMessages) {
  const auto labels_with = [](std::int64_t bad) {
    return torch::tensor(std::vector<std::int64_t>{0, 1, bad, kIgnore}, torch::kLong).view({1, 2, 2});
  };
  const auto logits = Case{}.logits_tensor();
  for (const auto& [name, options] : kEveryLoss) {
    EXPECT_EQ(error_text([&] { make(name, options)->forward({{"logits", logits}}, {{"labels", labels_with(3)}}); }),
              "loss 'segmentation_" + name + "': targets 'labels' must be a class in [0, 3) or ignore_index 255, got 3 (logits "
              "have 3 classes); check the dataset's class count and its ignore value");
  }
  EXPECT_EQ(error_text([&] { make("ce")->forward({{"logits", logits}}, {{"labels", labels_with(-1)}}); }),
            "loss 'segmentation_ce': targets 'labels' must be a class in [0, 3) or ignore_index 255, got -1 (logits have 3 "
            "classes); check the dataset's class count and its ignore value");
  // With another ignore_index, 255 is an ordinary (invalid) label.
  EXPECT_EQ(error_text([&] {
              make("dice", R"({"ignore_index": -1})")->forward({{"logits", logits}}, {{"labels", labels_with(-1)}});
            }),
            "loss 'segmentation_dice': targets 'labels' must be a class in [0, 3) or ignore_index -1, got 255 (logits have 3 "
            "classes); check the dataset's class count and its ignore value");
}

TEST(SegmentationLosses, PerClassOptionLengthMessages) {
  const Case c;
  EXPECT_EQ(error_text([&] { c.run(*make("combined", R"({"class_weights": [1.0, 2.0]})")); }),
            "loss 'segmentation_combined': option 'class_weights' has 2 values, the logits have 3 classes; give one value per "
            "class");
  EXPECT_EQ(error_text([&] { c.run(*make("focal", R"({"alpha": [0.1, 0.2, 0.3, 0.4]})")); }),
            "loss 'segmentation_focal': option 'alpha' has 4 values, the logits have 3 classes; give one value per class");
  for (const std::string name : {"ce", "dice", "tversky"}) {
    EXPECT_EQ(error_text([&] { c.run(*make(name, R"({"class_weights": [1.0]})")); }),
              "loss 'segmentation_" + name + "': option 'class_weights' has 1 values, the logits have 3 classes; give one value "
              "per class");
  }
}

TEST(SegmentationLosses, OptionMessages) {
  EXPECT_EQ(error_text([] { make("ce", R"({"label_smoothing": 1.0})"); }),
            "loss 'segmentation_ce': option 'label_smoothing': expected a number in [0, 1), got 1");
  EXPECT_EQ(error_text([] { make("ce", R"({"label_smoothing": -0.1})"); }),
            "loss 'segmentation_ce': option 'label_smoothing': expected a number in [0, 1), got -0.1");
  EXPECT_EQ(error_text([] { make("ce", R"({"class_weights": [1.0, -1.0, 1.0]})"); }),
            "loss 'segmentation_ce': option 'class_weights': expected one finite number >= 0 per class, got [1, -1, 1]");
  EXPECT_EQ(error_text([] { make("dice", R"({"class_weights": [0.0, 0.0, 0.0]})"); }),
            "loss 'segmentation_dice': option 'class_weights': expected at least one value > 0, got [0, 0, 0]; all zero would "
            "make the loss 0 whatever the predictions; leave the option out for equal weights");
  EXPECT_EQ(error_text([] { make("dice", R"({"smooth": -1.0})"); }),
            "loss 'segmentation_dice': option 'smooth': expected a finite number >= 0, got -1");
  EXPECT_EQ(error_text([] { make("focal", R"({"gamma": -0.5})"); }),
            "loss 'segmentation_focal': option 'gamma': expected a finite number >= 0, got -0.5");
  EXPECT_EQ(error_text([] { make("focal", R"({"alpha": [0.25, -0.5, 1.0]})"); }),
            "loss 'segmentation_focal': option 'alpha': expected one finite number >= 0 per class, got [0.25, -0.5, 1]");
  EXPECT_EQ(error_text([] { make("tversky", R"({"alpha": -0.1})"); }),
            "loss 'segmentation_tversky': option 'alpha': expected a finite number >= 0, got -0.1");
  EXPECT_EQ(error_text([] { make("tversky", R"({"beta": -1.0})"); }),
            "loss 'segmentation_tversky': option 'beta': expected a finite number >= 0, got -1");
  EXPECT_EQ(error_text([] { make("tversky", R"({"smooth": -2.0})"); }),
            "loss 'segmentation_tversky': option 'smooth': expected a finite number >= 0, got -2");
  EXPECT_EQ(error_text([] { make("tversky", R"({"class_weights": [-1.0, 1.0, 1.0]})"); }),
            "loss 'segmentation_tversky': option 'class_weights': expected one finite number >= 0 per class, got [-1, 1, 1]");
  EXPECT_EQ(error_text([] { make("combined", R"({"ce_weight": -1.0})"); }),
            "loss 'segmentation_combined': option 'ce_weight': expected a finite number >= 0, got -1");
  EXPECT_EQ(error_text([] { make("combined", R"({"dice_weight": -2.0})"); }),
            "loss 'segmentation_combined': option 'dice_weight': expected a finite number >= 0, got -2");
  EXPECT_EQ(error_text([] { make("combined", R"({"class_weights": [0.0, 0.0, 0.0]})"); }),
            "loss 'segmentation_combined': option 'class_weights': expected at least one value > 0, got [0, 0, 0]; all zero "
            "would make the loss 0 whatever the predictions; leave the option out for equal weights");
  // Unknown keys and wrong types come from the Config the factory reads.
  EXPECT_NE(error_text([] { make("dice", R"({"smoth": 1.0})"); }).find("'smooth'"), std::string::npos);
  EXPECT_NE(error_text([] { make("combined", R"({"label_smoothing": 0.1})"); }).find("label_smoothing"),
            std::string::npos);
  EXPECT_NE(error_text([] { make("ce", R"({"class_weights": 2.0})"); }).find("class_weights"), std::string::npos);
}

}  // namespace
}  // namespace autotimm::segmentation_losses
