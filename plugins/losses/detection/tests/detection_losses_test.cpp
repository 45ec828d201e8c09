// The detection losses against values computed by hand: FCOS's three terms on a 1-image, 3-location, 2-class case
// (one positive, one background, one ignored location), its normalisation, weights, gradients and zero-positive case;
// the paired GIoU loss; the sigmoid focal loss on labels and on one-hot targets; and every message.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "autotimm/error.hpp"
#include "autotimm/loss.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "support/error_text.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::detection_losses {
namespace {

using autotimm::testing::error_text;

std::shared_ptr<Loss> make(const std::string& name, const std::string& options = "{}") {
  auto config = Config::parse(options, "loss options");
  auto loss = autotimm::testing::registry_of(autotimm_plugin_descriptor()).losses().get(name).factory(config);
  config.expect_all_used();
  return loss;
}

double value(const torch::Tensor& t) { return t.item<double>(); }

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// Sigmoid focal loss of one logit with a 0/1 target, written out: alpha_t · (1 − p_t)^gamma · (−log p_t).
double focal(double z, double t, double alpha = 0.25, double gamma = 2.0) {
  const double p = sigmoid(z);
  const double p_t = t == 1.0 ? p : 1.0 - p;
  const double alpha_t = alpha < 0 ? 1.0 : (t == 1.0 ? alpha : 1.0 - alpha);
  return alpha_t * std::pow(1.0 - p_t, gamma) * -std::log(p_t);
}

// Binary cross-entropy of a logit against a soft target.
double bce(double z, double t) { return -(t * std::log(sigmoid(z)) + (1 - t) * std::log(1 - sigmoid(z))); }

// --- fcos ---------------------------------------------------------------------------------------------------------

// One image, three locations, two classes: location 0 is a positive of class 1, location 1 background, location 2
// ignored. Doubles so that the hand arithmetic below is matched to ~1e-12.
struct FcosCase {
  torch::Tensor cls_logits = torch::tensor({0.5, -1.0, 1.5, -0.5, 3.0, 2.0}, torch::kDouble).view({1, 3, 2});
  torch::Tensor box_ltrb = torch::tensor({2.0, 3.0, 4.0, 5.0, 1.0, 1.0, 1.0, 1.0, 6.0, 6.0, 6.0, 6.0},
                                         torch::kDouble).view({1, 3, 4});
  torch::Tensor centerness = torch::tensor({0.3, -0.2, 0.8}, torch::kDouble).view({1, 3});
  torch::Tensor labels = torch::tensor({1, -1, -2}, torch::kLong).view({1, 3});
  torch::Tensor target_box_ltrb = torch::tensor({3.0, 2.0, 4.0, 6.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0},
                                                torch::kDouble).view({1, 3, 4});
  torch::Tensor target_centerness = torch::tensor({0.6, 0.0, 0.0}, torch::kDouble).view({1, 3});
  torch::Tensor num_positives = torch::tensor(1.0, torch::kDouble);

  TensorMap predictions() const {
    return {{"cls_logits", cls_logits}, {"box_ltrb", box_ltrb}, {"centerness", centerness}};
  }
  TensorMap targets() const {
    return {{"labels", labels}, {"box_ltrb", target_box_ltrb}, {"centerness", target_centerness},
            {"num_positives", num_positives}};
  }
  LossOutput run(Loss& loss) const { return loss.forward(predictions(), targets()); }
};

// Location 0 (class 1): logits 0.5 (target 0) and −1.0 (target 1); location 1 (background): 1.5 and −0.5, both 0.
// Location 2 is ignored and left out.
double expected_cls(double alpha = 0.25, double gamma = 2.0) {
  return focal(0.5, 0, alpha, gamma) + focal(-1.0, 1, alpha, gamma) + focal(1.5, 0, alpha, gamma) +
         focal(-0.5, 0, alpha, gamma);
}

// Location 0: prediction (l, t, r, b) = (2, 3, 4, 5) → box (−2, −3, 4, 5), 6 × 8 = 48; target (3, 2, 4, 6) →
// (−3, −2, 4, 6), 7 × 8 = 56. Intersection x ∈ [−2, 4], y ∈ [−2, 5]: 6 × 7 = 42; union 48 + 56 − 42 = 62; enclosing
// x ∈ [−3, 4], y ∈ [−3, 6]: 7 × 9 = 63. GIoU = 42/62 − (63 − 62)/63.
const double kExpectedBox = 1.0 - (42.0 / 62.0 - (63.0 - 62.0) / 63.0);

// Location 0: logit 0.3, target 0.6.
const double kExpectedCenterness = bce(0.3, 0.6);

TEST(FcosLoss, HandComputedTerms) {
  auto loss = make("fcos");
  const auto out = FcosCase{}.run(*loss);
  EXPECT_NEAR(value(out.terms.at("loss_cls")), expected_cls(), 1e-12);
  EXPECT_NEAR(value(out.terms.at("loss_box")), kExpectedBox, 1e-12);
  EXPECT_NEAR(value(out.terms.at("loss_centerness")), kExpectedCenterness, 1e-12);
  EXPECT_NEAR(value(out.total), expected_cls() + kExpectedBox + kExpectedCenterness, 1e-12);
  EXPECT_EQ(out.terms.size(), 3u);
}

TEST(FcosLoss, AlphaAndGammaOptions) {
  // A negative alpha turns the weighting off (torchvision's rule); gamma 0 with it is plain BCE.
  auto plain = make("fcos", R"({"focal_alpha": -1, "focal_gamma": 0})");
  const double bce_sum = bce(0.5, 0) + bce(-1.0, 1) + bce(1.5, 0) + bce(-0.5, 0);
  EXPECT_NEAR(value(FcosCase{}.run(*plain).terms.at("loss_cls")), bce_sum, 1e-12);
  auto tuned = make("fcos", R"({"focal_alpha": 0.5, "focal_gamma": 1.5})");
  EXPECT_NEAR(value(FcosCase{}.run(*tuned).terms.at("loss_cls")), expected_cls(0.5, 1.5), 1e-12);
}

TEST(FcosLoss, IgnoredLocationContributesNothing) {
  auto loss = make("fcos");
  FcosCase changed;
  changed.cls_logits = changed.cls_logits.clone();
  changed.cls_logits[0][2] = torch::tensor({-40.0, 55.0}, torch::kDouble);
  const auto a = FcosCase{}.run(*loss), b = changed.run(*loss);
  EXPECT_EQ(value(a.terms.at("loss_cls")), value(b.terms.at("loss_cls")));
  EXPECT_EQ(value(a.total), value(b.total));
  // Treated as background instead, the same location would cost its two negative focal terms.
  FcosCase background;
  background.labels = torch::tensor({1, -1, -1}, torch::kLong).view({1, 3});
  EXPECT_NEAR(value(background.run(*loss).terms.at("loss_cls")), expected_cls() + focal(3.0, 0) + focal(2.0, 0),
              1e-12);
}

TEST(FcosLoss, TargetsAreReadOnlyAtPositives) {
  // Box and centerness targets elsewhere may hold anything, NaN included: neither value nor gradient sees them.
  auto loss = make("fcos");
  FcosCase garbage;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  garbage.target_box_ltrb = garbage.target_box_ltrb.clone();
  garbage.target_box_ltrb[0][1] = nan;
  garbage.target_box_ltrb[0][2] = nan;
  garbage.target_centerness = torch::tensor({0.6, nan, nan}, torch::kDouble).view({1, 3});
  garbage.box_ltrb = garbage.box_ltrb.clone().requires_grad_(true);
  const auto out = garbage.run(*loss);
  EXPECT_NEAR(value(out.total), expected_cls() + kExpectedBox + kExpectedCenterness, 1e-12);
  out.total.backward();
  EXPECT_TRUE(torch::isfinite(garbage.box_ltrb.grad()).all().item<bool>());
}

TEST(FcosLoss, NormalisedByNumPositives) {
  auto loss = make("fcos");
  FcosCase doubled;
  doubled.num_positives = torch::tensor(2.0, torch::kDouble);
  const auto one = FcosCase{}.run(*loss), two = doubled.run(*loss);
  for (const char* term : {"loss_cls", "loss_box", "loss_centerness"}) {
    EXPECT_NEAR(value(two.terms.at(term)), value(one.terms.at(term)) / 2, 1e-12) << term;
  }
  EXPECT_NEAR(value(two.total), value(one.total) / 2, 1e-12);
  // A single-element tensor of another type and shape is read the same way.
  doubled.num_positives = torch::tensor({2.0f});
  EXPECT_NEAR(value(doubled.run(*loss).total), value(one.total) / 2, 1e-12);
}

TEST(FcosLoss, WeightsApplyToTheTotalOnly) {
  auto loss = make("fcos", R"({"cls_weight": 2.0, "box_weight": 3, "centerness_weight": 0.5})");
  const auto out = FcosCase{}.run(*loss);
  EXPECT_NEAR(value(out.terms.at("loss_cls")), expected_cls(), 1e-12);
  EXPECT_NEAR(value(out.terms.at("loss_box")), kExpectedBox, 1e-12);
  EXPECT_NEAR(value(out.terms.at("loss_centerness")), kExpectedCenterness, 1e-12);
  EXPECT_NEAR(value(out.total), 2.0 * expected_cls() + 3.0 * kExpectedBox + 0.5 * kExpectedCenterness, 1e-12);
}

TEST(FcosLoss, BatchedImagesShareOneNormaliser) {
  // Image 2: location 0 a positive of class 0 with the same box and centerness, location 1 ignored, location 2
  // background. Two positives in all.
  auto loss = make("fcos");
  FcosCase one, two;
  two.cls_logits = torch::cat({one.cls_logits, one.cls_logits});
  two.box_ltrb = torch::cat({one.box_ltrb, one.box_ltrb});
  two.centerness = torch::cat({one.centerness, one.centerness});
  two.labels = torch::tensor({1, -1, -2, 0, -2, -1}, torch::kLong).view({2, 3});
  two.target_box_ltrb = torch::cat({one.target_box_ltrb, one.target_box_ltrb});
  two.target_centerness = torch::cat({one.target_centerness, one.target_centerness});
  two.num_positives = torch::tensor(2.0, torch::kDouble);
  const double image2_cls = focal(0.5, 1) + focal(-1.0, 0) + focal(3.0, 0) + focal(2.0, 0);
  const auto out = two.run(*loss);
  EXPECT_NEAR(value(out.terms.at("loss_cls")), (expected_cls() + image2_cls) / 2, 1e-12);
  EXPECT_NEAR(value(out.terms.at("loss_box")), kExpectedBox, 1e-12);          // (2 · same) / 2
  EXPECT_NEAR(value(out.terms.at("loss_centerness")), kExpectedCenterness, 1e-12);
}

TEST(FcosLoss, GradientsReachEveryPredictionButNotIgnoredLocations) {
  auto loss = make("fcos", R"({"centerness_weight": 2.0})");
  FcosCase c;
  c.cls_logits = c.cls_logits.clone().requires_grad_(true);
  c.box_ltrb = c.box_ltrb.clone().requires_grad_(true);
  c.centerness = c.centerness.clone().requires_grad_(true);
  c.num_positives = torch::tensor(2.0, torch::kDouble);
  c.run(*loss).total.backward();
  const auto cls = c.cls_logits.grad(), box = c.box_ltrb.grad(), ctr = c.centerness.grad();
  ASSERT_TRUE(cls.defined() && box.defined() && ctr.defined());
  // Classification: both counted locations, every class; nothing at the ignored one.
  EXPECT_TRUE((cls[0][0] != 0).all().item<bool>());
  EXPECT_TRUE((cls[0][1] != 0).all().item<bool>());
  EXPECT_TRUE((cls[0][2] == 0).all().item<bool>());
  // A negative logit's focal gradient, by hand: d/dz [(1 − α) p² · −log(1 − p)] = (1 − α)(2p²(1 − p)(−log(1 − p)) + p³)
  // (with dp/dz = p(1 − p)), divided by num_positives.
  const double p = sigmoid(1.5);
  EXPECT_NEAR(value(cls[0][1][0]), 0.75 * (2 * p * p * (1 - p) * -std::log(1 - p) + p * p * p) / 2, 1e-12);
  // Boxes and centerness: the positive only.
  EXPECT_TRUE((box[0][0] != 0).any().item<bool>());
  EXPECT_TRUE((box.slice(1, 1) == 0).all().item<bool>());
  // d BCE / dz = σ(z) − t, times the weight, over num_positives.
  EXPECT_NEAR(value(ctr[0][0]), 2.0 * (sigmoid(0.3) - 0.6) / 2, 1e-12);
  EXPECT_EQ(value(ctr[0][1]), 0.0);
  EXPECT_EQ(value(ctr[0][2]), 0.0);
}

TEST(FcosLoss, BoxGradientMatchesFiniteDifferences) {
  auto loss = make("fcos");
  FcosCase c;
  c.box_ltrb = c.box_ltrb.clone().requires_grad_(true);
  c.run(*loss).terms.at("loss_box").backward();
  const auto grad = c.box_ltrb.grad();
  const double h = 1e-6;
  for (int k = 0; k < 4; ++k) {
    FcosCase up, down;
    up.box_ltrb = up.box_ltrb.clone();
    down.box_ltrb = down.box_ltrb.clone();
    up.box_ltrb[0][0][k] += h;
    down.box_ltrb[0][0][k] -= h;
    const double numeric =
        (value(up.run(*loss).terms.at("loss_box")) - value(down.run(*loss).terms.at("loss_box"))) / (2 * h);
    EXPECT_NEAR(value(grad[0][0][k]), numeric, 1e-7) << "side " << k;
  }
}

TEST(FcosLoss, ZeroPositives) {
  auto loss = make("fcos");
  FcosCase c;
  c.labels = torch::tensor({-1, -1, -2}, torch::kLong).view({1, 3});
  c.cls_logits = c.cls_logits.clone().requires_grad_(true);
  c.box_ltrb = c.box_ltrb.clone().requires_grad_(true);
  c.centerness = c.centerness.clone().requires_grad_(true);
  const auto out = c.run(*loss);
  // Every class target is 0: location 0's −1.0 logit is now a negative too.
  const double negatives = focal(0.5, 0) + focal(-1.0, 0) + focal(1.5, 0) + focal(-0.5, 0);
  EXPECT_NEAR(value(out.terms.at("loss_cls")), negatives, 1e-12);
  EXPECT_EQ(value(out.terms.at("loss_box")), 0.0);
  EXPECT_EQ(value(out.terms.at("loss_centerness")), 0.0);
  EXPECT_TRUE(out.terms.at("loss_box").requires_grad());
  EXPECT_TRUE(out.terms.at("loss_centerness").requires_grad());
  out.total.backward();
  ASSERT_TRUE(c.box_ltrb.grad().defined());
  ASSERT_TRUE(c.centerness.grad().defined());
  EXPECT_TRUE((c.box_ltrb.grad() == 0).all().item<bool>());
  EXPECT_TRUE((c.centerness.grad() == 0).all().item<bool>());
  EXPECT_TRUE((c.cls_logits.grad()[0][0] != 0).all().item<bool>());
}

TEST(FcosLoss, FloatPredictionsGiveFloatLosses) {
  auto loss = make("fcos");
  FcosCase c;
  c.cls_logits = c.cls_logits.to(torch::kFloat);
  c.box_ltrb = c.box_ltrb.to(torch::kFloat);
  c.centerness = c.centerness.to(torch::kFloat);
  const auto out = c.run(*loss);
  EXPECT_EQ(out.total.scalar_type(), torch::kFloat);
  EXPECT_EQ(out.total.dim(), 0);
  EXPECT_NEAR(value(out.total), expected_cls() + kExpectedBox + kExpectedCenterness, 1e-5);
}

TEST(FcosLoss, BadInputIsNamed) {
  auto loss = make("fcos");
  const auto without = [](TensorMap map, const std::string& key) {
    map.erase(key);
    return map;
  };
  const FcosCase c;
  const std::string predicted =
      "expected cls_logits [B, N, C], box_ltrb [B, N, 4] and centerness [B, N] (the fcos head's outputs, flattened "
      "by the task)";
  const std::string targeted =
      "expected labels int64 [B, N], box_ltrb [B, N, 4], centerness [B, N] and num_positives (a single number)";
  for (const char* key : {"cls_logits", "box_ltrb", "centerness"}) {
    EXPECT_EQ(error_text([&] { loss->forward(without(c.predictions(), key), c.targets()); }),
              "loss 'fcos': the predictions have no '" + std::string(key) + "'; " + predicted);
  }
  for (const char* key : {"labels", "box_ltrb", "centerness", "num_positives"}) {
    EXPECT_EQ(error_text([&] { loss->forward(c.predictions(), without(c.targets(), key)); }),
              "loss 'fcos': the targets have no '" + std::string(key) + "'; " + targeted);
  }
  const auto with = [](TensorMap map, const std::string& key, torch::Tensor t) {
    map[key] = std::move(t);
    return map;
  };
  EXPECT_EQ(error_text([&] { loss->forward(with(c.predictions(), "cls_logits", torch::zeros({3, 2})), c.targets()); }),
            "loss 'fcos': predictions 'cls_logits' must be floating [B, N, C] with C >= 1, got Float [3, 2]");
  EXPECT_EQ(error_text([&] {
              loss->forward(with(c.predictions(), "box_ltrb", torch::zeros({1, 3, 3}, torch::kDouble)), c.targets());
            }),
            "loss 'fcos': predictions 'box_ltrb' must be floating [1, 3, 4] to match cls_logits [1, 3, 2], got "
            "Double [1, 3, 3]");
  EXPECT_EQ(error_text([&] {
              loss->forward(with(c.predictions(), "centerness", torch::zeros({1, 3, 1})), c.targets());
            }),
            "loss 'fcos': predictions 'centerness' must be floating [1, 3] to match cls_logits [1, 3, 2], got "
            "Float [1, 3, 1]");
  EXPECT_EQ(error_text([&] { loss->forward(c.predictions(), with(c.targets(), "labels", torch::zeros({1, 3}))); }),
            "loss 'fcos': targets 'labels' must be int64 [1, 3] to match cls_logits [1, 3, 2], got Float [1, 3]");
  EXPECT_EQ(error_text([&] {
              loss->forward(c.predictions(), with(c.targets(), "box_ltrb", torch::zeros({1, 4, 4})));
            }),
            "loss 'fcos': targets 'box_ltrb' must be floating [1, 3, 4] to match cls_logits [1, 3, 2], got Float "
            "[1, 4, 4]");
  EXPECT_EQ(error_text([&] {
              loss->forward(c.predictions(), with(c.targets(), "centerness", torch::zeros({3})));
            }),
            "loss 'fcos': targets 'centerness' must be floating [1, 3] to match cls_logits [1, 3, 2], got Float [3]");
  EXPECT_EQ(error_text([&] {
              loss->forward(c.predictions(), with(c.targets(), "labels", torch::tensor({{1, 2, -1}})));
            }),
            "loss 'fcos': targets 'labels' must be a class in [0, 2), -1 (background) or -2 (ignored), got 2 "
            "(cls_logits has 2 classes)");
  EXPECT_EQ(error_text([&] {
              loss->forward(c.predictions(), with(c.targets(), "labels", torch::tensor({{1, -3, -1}})));
            }),
            "loss 'fcos': targets 'labels' must be a class in [0, 2), -1 (background) or -2 (ignored), got -3 "
            "(cls_logits has 2 classes)");
  EXPECT_EQ(error_text([&] {
              loss->forward(c.predictions(), with(c.targets(), "num_positives", torch::ones({2}, torch::kDouble)));
            }),
            "loss 'fcos': targets 'num_positives' must be a single number, got Double [2]");
  EXPECT_EQ(error_text([&] {
              loss->forward(c.predictions(), with(c.targets(), "num_positives", torch::tensor(0.0)));
            }),
            "loss 'fcos': targets 'num_positives' must be a finite number > 0, got 0; the task clamps the number of "
            "positive locations to at least 1");
}

TEST(FcosLoss, BadOptionsAreNamed) {
  EXPECT_EQ(error_text([] { make("fcos", R"({"focal_gamma": -1})"); }),
            "loss 'fcos': option 'focal_gamma': expected a finite number >= 0, got -1");
  EXPECT_EQ(error_text([] { make("fcos", R"({"focal_alpha": 1.5})"); }),
            "loss 'fcos': option 'focal_alpha': expected a weight in [0, 1], or a negative number to disable the "
            "weighting, got 1.5");
  EXPECT_EQ(error_text([] { make("fcos", R"({"cls_weight": -0.5})"); }),
            "loss 'fcos': option 'cls_weight': expected a finite number >= 0, got -0.5");
  EXPECT_EQ(error_text([] { make("fcos", R"({"box_weight": -2})"); }),
            "loss 'fcos': option 'box_weight': expected a finite number >= 0, got -2");
  EXPECT_EQ(error_text([] { make("fcos", R"({"centerness_weight": -1})"); }),
            "loss 'fcos': option 'centerness_weight': expected a finite number >= 0, got -1");
  EXPECT_NE(error_text([] { make("fcos", R"({"alpha": 0.3})"); }).find("'alpha'"), std::string::npos);
  EXPECT_NE(error_text([] { make("fcos", R"({"cls_weight": "heavy"})"); }).find("cls_weight"), std::string::npos);
}

// --- giou ---------------------------------------------------------------------------------------------------------

torch::Tensor boxes(std::initializer_list<double> values) {
  return torch::tensor(std::vector<double>(values), torch::kDouble).view({-1, 4});
}

double giou_of(Loss& loss, const torch::Tensor& predicted, const torch::Tensor& target, TensorMap extra = {}) {
  extra["boxes"] = target;
  return value(loss.forward({{"boxes", predicted}}, extra).total);
}

// (0, 0, 2, 2) against (1, 1, 3, 3): intersection 1, union 4 + 4 − 1 = 7, enclosing 3 × 3 = 9.
const double kOverlapping = 1.0 - (1.0 / 7.0 - (9.0 - 7.0) / 9.0);
// (0, 0, 1, 1) against (2, 0, 3, 1): no intersection, union 2, enclosing 3 × 1 = 3: GIoU = −1/3.
const double kDisjoint = 1.0 - (0.0 - (3.0 - 2.0) / 3.0);

TEST(GiouLoss, PerfectBoxCostsNothing) {
  auto loss = make("giou");
  EXPECT_EQ(giou_of(*loss, boxes({1, 2, 5, 7}), boxes({1, 2, 5, 7})), 0.0);
}

TEST(GiouLoss, HandComputedPairs) {
  auto mean = make("giou");
  EXPECT_NEAR(giou_of(*mean, boxes({0, 0, 2, 2}), boxes({1, 1, 3, 3})), kOverlapping, 1e-12);
  EXPECT_NEAR(giou_of(*mean, boxes({0, 0, 1, 1}), boxes({2, 0, 3, 1})), kDisjoint, 1e-12);
  const auto predicted = boxes({0, 0, 2, 2, 0, 0, 1, 1}), target = boxes({1, 1, 3, 3, 2, 0, 3, 1});
  EXPECT_NEAR(giou_of(*mean, predicted, target), (kOverlapping + kDisjoint) / 2, 1e-12);
  auto sum = make("giou", R"({"reduction": "sum"})");
  EXPECT_NEAR(giou_of(*sum, predicted, target), kOverlapping + kDisjoint, 1e-12);
  // Weights scale each pair; the mean still divides by the number of pairs.
  const TensorMap weights = {{"weights", torch::tensor({2.0, 0.5}, torch::kDouble)}};
  EXPECT_NEAR(giou_of(*mean, predicted, target, weights), (2.0 * kOverlapping + 0.5 * kDisjoint) / 2, 1e-12);
  EXPECT_NEAR(giou_of(*sum, predicted, target, weights), 2.0 * kOverlapping + 0.5 * kDisjoint, 1e-12);
}

TEST(GiouLoss, NoPairsAndGradients) {
  auto loss = make("giou");
  auto empty = torch::zeros({0, 4}, torch::kDouble).requires_grad_(true);
  const auto out = loss->forward({{"boxes", empty}}, {{"boxes", torch::zeros({0, 4}, torch::kDouble)}});
  EXPECT_EQ(value(out.total), 0.0);
  out.total.backward();
  auto predicted = boxes({0, 0, 2, 2}).requires_grad_(true);
  loss->forward({{"boxes", predicted}}, {{"boxes", boxes({1, 1, 3, 3})}}).total.backward();
  // Moving the predicted box toward the target lowers the loss: its x2, y2 gradients are negative.
  EXPECT_LT(value(predicted.grad()[0][2]), 0.0);
  EXPECT_LT(value(predicted.grad()[0][3]), 0.0);
}

TEST(GiouLoss, BadInputAndOptionsAreNamed) {
  auto loss = make("giou");
  const auto one = boxes({0, 0, 1, 1});
  EXPECT_EQ(error_text([&] { loss->forward({{"box", one}}, {{"boxes", one}}); }),
            "loss 'giou': the predictions have no 'boxes'; expected boxes [N, 4] (xyxy)");
  EXPECT_EQ(error_text([&] { loss->forward({{"boxes", one}}, {{"weights", torch::ones({1})}}); }),
            "loss 'giou': the targets have no 'boxes'; expected boxes [N, 4] (xyxy) and optionally weights [N]");
  EXPECT_EQ(error_text([&] { loss->forward({{"boxes", one.view({4})}}, {{"boxes", one}}); }),
            "loss 'giou': predictions 'boxes' must be floating [N, 4] (xyxy), got Double [4]");
  EXPECT_EQ(error_text([&] { loss->forward({{"boxes", one}}, {{"boxes", boxes({0, 0, 1, 1, 0, 0, 2, 2})}}); }),
            "loss 'giou': targets 'boxes' must be floating [1, 4] like predictions 'boxes', got Double [2, 4]");
  EXPECT_EQ(error_text([&] {
              loss->forward({{"boxes", one}}, {{"boxes", one}, {"weights", torch::ones({2}, torch::kDouble)}});
            }),
            "loss 'giou': targets 'weights' must be floating [1], one per box of predictions 'boxes' [1, 4], got "
            "Double [2]");
  EXPECT_EQ(error_text([] { make("giou", R"({"reduction": "none"})"); }),
            "loss 'giou': option 'reduction': expected 'mean' or 'sum', got 'none'; a loss returns one number to call "
            "backward() on; use 'sum' and divide by your own normaliser");
  EXPECT_EQ(error_text([] { make("giou", R"({"reduction": "avg"})"); }),
            "option 'reduction' in loss options: expected a reduction ('mean', 'sum'), got 'avg'");
}

// --- sigmoid_focal ------------------------------------------------------------------------------------------------

torch::Tensor focal_logits() { return torch::tensor({0.5, -1.0, 1.5, -0.5, 3.0, 2.0}, torch::kDouble).view({3, 2}); }

TEST(SigmoidFocalLoss, LabelsMeanOverCountedLogits) {
  auto loss = make("sigmoid_focal");
  const auto labels = torch::tensor({1, -1, -2}, torch::kLong);
  // Two counted locations × two classes = four logits; the ignored third location is left out.
  const double sum = focal(0.5, 0) + focal(-1.0, 1) + focal(1.5, 0) + focal(-0.5, 0);
  EXPECT_NEAR(value(loss->forward({{"logits", focal_logits()}}, {{"labels", labels}}).total), sum / 4, 1e-12);
  // With a normaliser: the sum over it.
  const auto normalised =
      loss->forward({{"logits", focal_logits()}}, {{"labels", labels}, {"normalizer", torch::tensor(2.0)}}).total;
  EXPECT_NEAR(value(normalised), sum / 2, 1e-12);
  // Leading axes are free: [1, 3, 2] logits with [1, 3] labels are the same.
  EXPECT_NEAR(value(loss->forward({{"logits", focal_logits().unsqueeze(0)}}, {{"labels", labels.unsqueeze(0)}}).total),
              sum / 4, 1e-12);
}

TEST(SigmoidFocalLoss, IgnoredLocationsGetNoGradient) {
  auto loss = make("sigmoid_focal");
  auto logits = focal_logits().requires_grad_(true);
  loss->forward({{"logits", logits}}, {{"labels", torch::tensor({1, -1, -2}, torch::kLong)}}).total.backward();
  EXPECT_TRUE((logits.grad()[2] == 0).all().item<bool>());
  EXPECT_TRUE((logits.grad().slice(0, 0, 2) != 0).all().item<bool>());
  // Every location ignored: 0, not the NaN of an empty mean.
  EXPECT_EQ(value(loss->forward({{"logits", focal_logits()}}, {{"labels", torch::full({3}, -2, torch::kLong)}}).total),
            0.0);
}

TEST(SigmoidFocalLoss, OneHotTargetsMatchLabels) {
  auto loss = make("sigmoid_focal", R"({"alpha": 0.4, "gamma": 1.0})");
  const auto labels = torch::tensor({1, -1, 0}, torch::kLong);
  const auto one_hot = torch::tensor({0.0, 1.0, 0.0, 0.0, 1.0, 0.0}, torch::kDouble).view({3, 2});
  const double sum = focal(0.5, 0, 0.4, 1.0) + focal(-1.0, 1, 0.4, 1.0) + focal(1.5, 0, 0.4, 1.0) +
                     focal(-0.5, 0, 0.4, 1.0) + focal(3.0, 1, 0.4, 1.0) + focal(2.0, 0, 0.4, 1.0);
  EXPECT_NEAR(value(loss->forward({{"logits", focal_logits()}}, {{"targets", one_hot}}).total), sum / 6, 1e-12);
  EXPECT_NEAR(value(loss->forward({{"logits", focal_logits()}}, {{"labels", labels}}).total), sum / 6, 1e-12);
  auto bce_loss = make("sigmoid_focal", R"({"alpha": -1, "gamma": 0})");
  const double bce_sum = bce(0.5, 0) + bce(-1.0, 1) + bce(1.5, 0) + bce(-0.5, 0) + bce(3.0, 1) + bce(2.0, 0);
  EXPECT_NEAR(value(bce_loss->forward({{"logits", focal_logits()}},
                                      {{"targets", one_hot}, {"normalizer", torch::tensor(3.0)}}).total),
              bce_sum / 3, 1e-12);
}

TEST(SigmoidFocalLoss, BadInputAndOptionsAreNamed) {
  auto loss = make("sigmoid_focal");
  const auto labels = torch::tensor({1, -1, -2}, torch::kLong);
  EXPECT_EQ(error_text([&] { loss->forward({{"scores", focal_logits()}}, {{"labels", labels}}); }),
            "loss 'sigmoid_focal': the predictions have no 'logits'; expected logits [..., C]");
  EXPECT_EQ(error_text([&] { loss->forward({{"logits", focal_logits()}}, {{"normalizer", torch::tensor(1.0)}}); }),
            "loss 'sigmoid_focal': the targets have no 'labels' or 'targets'; expected either labels int64 [...] (a "
            "class index, -1 background, -2 ignored) or targets [..., C] (floating, like the logits), and optionally "
            "normalizer (a single number)");
  EXPECT_EQ(error_text([&] {
              loss->forward({{"logits", focal_logits()}}, {{"labels", labels}, {"targets", focal_logits()}});
            }),
            "loss 'sigmoid_focal': the targets hold both 'labels' and 'targets'; give only one of them");
  EXPECT_EQ(error_text([&] { loss->forward({{"logits", torch::tensor({1, 2})}}, {{"labels", labels}}); }),
            "loss 'sigmoid_focal': predictions 'logits' must be floating [..., C] with C >= 1, got Long [2]");
  EXPECT_EQ(error_text([&] {
              loss->forward({{"logits", focal_logits()}}, {{"labels", torch::tensor({1, 0}, torch::kLong)}});
            }),
            "loss 'sigmoid_focal': targets 'labels' must be int64 [3] (the shape of logits [3, 2] without the class "
            "axis), got Long [2]");
  EXPECT_EQ(error_text([&] {
              loss->forward({{"logits", focal_logits()}}, {{"labels", torch::tensor({5, 0, -1}, torch::kLong)}});
            }),
            "loss 'sigmoid_focal': targets 'labels' must be a class in [0, 2), -1 (background) or -2 (ignored), got 5 "
            "(logits has 2 classes)");
  EXPECT_EQ(error_text([&] { loss->forward({{"logits", focal_logits()}}, {{"targets", torch::zeros({3, 3})}}); }),
            "loss 'sigmoid_focal': targets 'targets' must be floating [3, 2] like predictions 'logits', got Float "
            "[3, 3]");
  EXPECT_EQ(error_text([&] {
              loss->forward({{"logits", focal_logits()}}, {{"labels", labels}, {"normalizer", torch::tensor(-1.0)}});
            }),
            "loss 'sigmoid_focal': targets 'normalizer' must be a finite number > 0, got -1; pass the number of "
            "positives, at least 1");
  EXPECT_EQ(error_text([] { make("sigmoid_focal", R"({"gamma": -0.5})"); }),
            "loss 'sigmoid_focal': option 'gamma': expected a finite number >= 0, got -0.5");
  EXPECT_EQ(error_text([] { make("sigmoid_focal", R"({"alpha": 2})"); }),
            "loss 'sigmoid_focal': option 'alpha': expected a weight in [0, 1], or a negative number to disable the "
            "weighting, got 2");
}

TEST(DetectionLosses, RegistersEveryName) {
  auto& registry = autotimm::testing::registry_of(autotimm_plugin_descriptor());
  EXPECT_EQ(registry.losses().list(), (std::vector<std::string>{"fcos", "giou", "mask_bce", "mask_dice", "sigmoid_focal"}));
}

}  // namespace
}  // namespace autotimm::detection_losses
