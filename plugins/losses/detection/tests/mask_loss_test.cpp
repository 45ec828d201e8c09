// The mask losses against values worked out by hand on 1x1 and 2x2 masks: "mask_bce" (the mean over K·M·M pixels of
// the binary cross-entropy of each box's class channel) and "mask_dice" (1 − soft Dice per box, smooth 1, averaged
// over boxes); the class channel each box reads (other classes change nothing and get no gradient); the weight; K = 0
// keeping a graph; and every message.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/loss.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "support/error_text.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::detection_losses {
namespace {

using autotimm::testing::error_text;

std::shared_ptr<Loss> make_mask_loss(const std::string& name, const std::string& options = "{}") {
  auto config = Config::parse(options, "loss options");
  auto loss = autotimm::testing::registry_of(autotimm_plugin_descriptor()).losses().get(name).factory(config);
  config.expect_all_used();
  return loss;
}

double sigmoid_of(double z) { return 1.0 / (1.0 + std::exp(-z)); }
double bce_of(double z, double t) { return -(t * std::log(sigmoid_of(z)) + (1 - t) * std::log(1 - sigmoid_of(z))); }

// Two boxes, three classes, 2x2 masks. Box 0 is class 2, box 1 class 0. Doubles for 1e-12 agreement.
struct MaskCase {
  torch::Tensor logits = torch::tensor({// box 0: classes 0, 1, 2
                                        9.0, 9.0, 9.0, 9.0, -7.0, -7.0, -7.0, -7.0, 1.0, -2.0, 0.5, 0.0,
                                        // box 1: classes 0, 1, 2
                                        -1.0, 3.0, 2.0, -0.5, 5.0, 5.0, 5.0, 5.0, -3.0, -3.0, -3.0, -3.0},
                                       torch::kDouble)
                             .view({2, 3, 2, 2});
  torch::Tensor targets = torch::tensor({1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0}, torch::kDouble).view({2, 2, 2});
  torch::Tensor labels = torch::tensor({2, 0}, torch::kLong);

  TensorMap predictions() const { return {{"mask_logits", logits}}; }
  TensorMap target_map() const { return {{"mask_targets", targets}, {"labels", labels}}; }
};

// Box 0 reads class 2: logits (1, −2, 0.5, 0) against (1, 0, 1, 1); box 1 reads class 0: (−1, 3, 2, −0.5) against
// (0, 1, 1, 0). Mean over the 2·2·2 = 8 pixels.
double expected_bce() {
  return (bce_of(1.0, 1) + bce_of(-2.0, 0) + bce_of(0.5, 1) + bce_of(0.0, 1) + bce_of(-1.0, 0) + bce_of(3.0, 1) +
          bce_of(2.0, 1) + bce_of(-0.5, 0)) /
         8.0;
}

// Per box: 1 − (2·Σ p·t + 1) / (Σ p + Σ t + 1), then the mean over the two boxes.
double expected_dice() {
  const double p0[] = {sigmoid_of(1.0), sigmoid_of(-2.0), sigmoid_of(0.5), sigmoid_of(0.0)};
  const double t0[] = {1, 0, 1, 1};
  const double p1[] = {sigmoid_of(-1.0), sigmoid_of(3.0), sigmoid_of(2.0), sigmoid_of(-0.5)};
  const double t1[] = {0, 1, 1, 0};
  auto dice_loss = [](const double* p, const double* t) {
    double overlap = 0, sum_p = 0, sum_t = 0;
    for (int i = 0; i < 4; ++i) {
      overlap += p[i] * t[i];
      sum_p += p[i];
      sum_t += t[i];
    }
    return 1.0 - (2 * overlap + 1) / (sum_p + sum_t + 1);
  };
  return (dice_loss(p0, t0) + dice_loss(p1, t1)) / 2.0;
}

TEST(MaskBceLoss, OneByOneMaskByHand) {
  auto loss = make_mask_loss("mask_bce");
  // One box of class 1, one pixel, logit 0.3 against target 1: −log σ(0.3). Class 0's logit (−4) is not read.
  const auto logits = torch::tensor({-4.0, 0.3}, torch::kDouble).view({1, 2, 1, 1});
  const auto out = loss->forward({{"mask_logits", logits}},
                                 {{"mask_targets", torch::ones({1, 1, 1}, torch::kDouble)},
                                  {"labels", torch::tensor({1}, torch::kLong)}});
  EXPECT_NEAR(out.total.item<double>(), -std::log(1.0 / (1.0 + std::exp(-0.3))), 1e-12);
  EXPECT_TRUE(out.terms.empty());
  EXPECT_EQ(out.total.dim(), 0);
}

TEST(MaskBceLoss, TwoByTwoMasksByHand) {
  const MaskCase c;
  auto loss = make_mask_loss("mask_bce");
  EXPECT_NEAR(loss->forward(c.predictions(), c.target_map()).total.item<double>(), expected_bce(), 1e-12);
  auto weighted = make_mask_loss("mask_bce", R"({"weight": 2.5})");
  EXPECT_NEAR(weighted->forward(c.predictions(), c.target_map()).total.item<double>(), 2.5 * expected_bce(), 1e-12);
  // Float logits give a float loss; double targets follow the logits.
  const auto float_total = loss->forward({{"mask_logits", c.logits.to(torch::kFloat)}}, c.target_map()).total;
  EXPECT_EQ(float_total.scalar_type(), torch::kFloat);
  EXPECT_NEAR(float_total.item<double>(), expected_bce(), 1e-6);
}

TEST(MaskDiceLoss, OneByOneMaskByHand) {
  auto loss = make_mask_loss("mask_dice");
  // p = σ(0.3), t = 1: 1 − (2p + 1) / (p + 2).
  const double p = 1.0 / (1.0 + std::exp(-0.3));
  const auto logits = torch::tensor({-4.0, 0.3}, torch::kDouble).view({1, 2, 1, 1});
  const TensorMap targets = {{"mask_targets", torch::ones({1, 1, 1}, torch::kDouble)},
                             {"labels", torch::tensor({1}, torch::kLong)}};
  EXPECT_NEAR(loss->forward({{"mask_logits", logits}}, targets).total.item<double>(), 1 - (2 * p + 1) / (p + 2), 1e-12);
  // An empty target: 1 − 1 / (p + 1).
  const TensorMap empty = {{"mask_targets", torch::zeros({1, 1, 1}, torch::kDouble)},
                           {"labels", torch::tensor({1}, torch::kLong)}};
  EXPECT_NEAR(loss->forward({{"mask_logits", logits}}, empty).total.item<double>(), 1 - 1 / (p + 1), 1e-12);
}

TEST(MaskDiceLoss, TwoByTwoMasksByHand) {
  const MaskCase c;
  auto loss = make_mask_loss("mask_dice");
  EXPECT_NEAR(loss->forward(c.predictions(), c.target_map()).total.item<double>(), expected_dice(), 1e-12);
  auto weighted = make_mask_loss("mask_dice", R"({"weight": 0.5})");
  EXPECT_NEAR(weighted->forward(c.predictions(), c.target_map()).total.item<double>(), 0.5 * expected_dice(), 1e-12);
}

TEST(MaskLosses, OnlyEachBoxsClassChannelCounts) {
  const MaskCase c;
  for (const char* name : {"mask_bce", "mask_dice"}) {
    auto loss = make_mask_loss(name);
    const double base = loss->forward(c.predictions(), c.target_map()).total.item<double>();
    // Changing the channels no box reads (box 0: classes 0, 1; box 1: classes 1, 2) changes nothing.
    auto changed = c.logits.clone();
    changed.index_put_({0, 0}, -20.0);
    changed.index_put_({0, 1}, 13.0);
    changed.index_put_({1, 1}, -6.0);
    changed.index_put_({1, 2}, 8.0);
    EXPECT_EQ(loss->forward({{"mask_logits", changed}}, c.target_map()).total.item<double>(), base) << name;
    // Swapping the labels reads other channels, and the value changes.
    const TensorMap swapped = {{"mask_targets", c.targets}, {"labels", torch::tensor({0, 2}, torch::kLong)}};
    EXPECT_NE(loss->forward(c.predictions(), swapped).total.item<double>(), base) << name;

    auto logits = c.logits.clone().requires_grad_(true);
    loss->forward({{"mask_logits", logits}}, c.target_map()).total.backward();
    const auto grad = logits.grad();
    for (std::int64_t box = 0; box < 2; ++box) {
      const std::int64_t label = c.labels[box].item<std::int64_t>();
      for (std::int64_t cls = 0; cls < 3; ++cls) {
        const bool all_zero = (grad[box][cls] == 0).all().item<bool>();
        EXPECT_EQ(all_zero, cls != label) << name << ": box " << box << ", class " << cls;
      }
    }
  }
}

TEST(MaskBceLoss, GradientIsSigmoidMinusTargetOverPixels) {
  const MaskCase c;
  auto logits = c.logits.clone().requires_grad_(true);
  make_mask_loss("mask_bce")->forward({{"mask_logits", logits}}, c.target_map()).total.backward();
  // d/dz of the mean BCE: (σ(z) − t) / 8 at the read pixel. Box 0, class 2, pixel (0, 1): z = −2, t = 0.
  EXPECT_NEAR(logits.grad()[0][2][0][1].item<double>(), (sigmoid_of(-2.0) - 0.0) / 8.0, 1e-12);
  // Box 1, class 0, pixel (1, 0): z = 2, t = 1.
  EXPECT_NEAR(logits.grad()[1][0][1][0].item<double>(), (sigmoid_of(2.0) - 1.0) / 8.0, 1e-12);
}

TEST(MaskLosses, NoBoxesGiveAZeroConnectedToTheLogits) {
  for (const char* name : {"mask_bce", "mask_dice"}) {
    auto loss = make_mask_loss(name, R"({"weight": 3})");
    auto logits = torch::zeros({0, 3, 4, 4}, torch::kDouble).requires_grad_(true);
    const TensorMap targets = {{"mask_targets", torch::zeros({0, 4, 4}, torch::kDouble)},
                               {"labels", torch::zeros({0}, torch::kLong)}};
    const auto out = loss->forward({{"mask_logits", logits}}, targets);
    EXPECT_EQ(out.total.item<double>(), 0.0) << name;
    EXPECT_EQ(out.total.dim(), 0) << name;
    ASSERT_TRUE(out.total.requires_grad()) << name;
    ASSERT_NE(out.total.grad_fn(), nullptr) << name;
    out.total.backward();
    ASSERT_TRUE(logits.grad().defined()) << name;
    EXPECT_EQ(logits.grad().sizes(), logits.sizes()) << name;
  }
  // Through a parameter: K = 0 still gives it a (zero) gradient, as DDP needs.
  auto weight = torch::ones({3, 1, 1}, torch::kDouble).requires_grad_(true);
  auto logits = torch::zeros({0, 1, 4, 4}, torch::kDouble) * weight;
  const TensorMap targets = {{"mask_targets", torch::zeros({0, 4, 4}, torch::kDouble)},
                             {"labels", torch::zeros({0}, torch::kLong)}};
  make_mask_loss("mask_bce")->forward({{"mask_logits", logits}}, targets).total.backward();
  ASSERT_TRUE(weight.grad().defined());
  EXPECT_EQ(weight.grad().abs().sum().item<double>(), 0.0);
}

TEST(MaskLosses, BadInputIsNamed) {
  const MaskCase c;
  for (const std::string name : {"mask_bce", "mask_dice"}) {
    auto loss = make_mask_loss(name);
    const std::string prefix = "loss '" + name + "': ";
    const std::string expected_targets =
        "; expected mask_targets [K, M, M] (floating, 0/1) and labels [K] (int64, the class of each box)";
    EXPECT_EQ(error_text([&] { loss->forward({{"logits", c.logits}}, c.target_map()); }),
              prefix + "the predictions have no 'mask_logits'; expected mask_logits [K, C, M, M] (a mask logit map "
                       "per class for each box)");
    EXPECT_EQ(error_text([&] { loss->forward(c.predictions(), {{"labels", c.labels}}); }),
              prefix + "the targets have no 'mask_targets'" + expected_targets);
    EXPECT_EQ(error_text([&] { loss->forward(c.predictions(), {{"mask_targets", c.targets}}); }),
              prefix + "the targets have no 'labels'" + expected_targets);
    EXPECT_EQ(error_text([&] { loss->forward({{"mask_logits", c.logits[0]}}, c.target_map()); }),
              prefix + "predictions 'mask_logits' must be floating [K, C, M, M] with C >= 1, got Double [3, 2, 2]");
    EXPECT_EQ(error_text([&] {
                loss->forward({{"mask_logits", torch::zeros({2, 3, 2, 2}, torch::kLong)}}, c.target_map());
              }),
              prefix + "predictions 'mask_logits' must be floating [K, C, M, M] with C >= 1, got Long [2, 3, 2, 2]");
    EXPECT_EQ(error_text([&] {
                loss->forward({{"mask_logits", torch::zeros({2, 0, 2, 2})}}, c.target_map());
              }),
              prefix + "predictions 'mask_logits' must be floating [K, C, M, M] with C >= 1, got Float [2, 0, 2, 2]");
    EXPECT_EQ(error_text([&] {
                loss->forward(c.predictions(), {{"mask_targets", torch::zeros({2, 3, 3})}, {"labels", c.labels}});
              }),
              prefix + "targets 'mask_targets' must be floating [2, 2, 2] (the shape of mask_logits [2, 3, 2, 2] "
                       "without the class axis), got Float [2, 3, 3]");
    EXPECT_EQ(error_text([&] {
                loss->forward(c.predictions(), {{"mask_targets", c.targets.to(torch::kByte)}, {"labels", c.labels}});
              }),
              prefix + "targets 'mask_targets' must be floating [2, 2, 2] (the shape of mask_logits [2, 3, 2, 2] "
                       "without the class axis), got Byte [2, 2, 2]");
    EXPECT_EQ(error_text([&] {
                loss->forward(c.predictions(), {{"mask_targets", c.targets}, {"labels", c.labels.to(torch::kInt)}});
              }),
              prefix + "targets 'labels' must be int64 [2], the class of each box of mask_logits [2, 3, 2, 2], got "
                       "Int [2]");
    EXPECT_EQ(error_text([&] {
                loss->forward(c.predictions(),
                              {{"mask_targets", c.targets}, {"labels", torch::tensor({2, 0, 1}, torch::kLong)}});
              }),
              prefix + "targets 'labels' must be int64 [2], the class of each box of mask_logits [2, 3, 2, 2], got "
                       "Long [3]");
    EXPECT_EQ(error_text([&] {
                loss->forward(c.predictions(),
                              {{"mask_targets", c.targets}, {"labels", torch::tensor({3, 0}, torch::kLong)}});
              }),
              prefix + "targets 'labels' must be a class in [0, 3) (mask_logits has 3 classes), got 3; pass only the "
                       "boxes matched to an object, with its class");
    EXPECT_EQ(error_text([&] {
                loss->forward(c.predictions(),
                              {{"mask_targets", c.targets}, {"labels", torch::tensor({0, -1}, torch::kLong)}});
              }),
              prefix + "targets 'labels' must be a class in [0, 3) (mask_logits has 3 classes), got -1; pass only the "
                       "boxes matched to an object, with its class");
    EXPECT_EQ(error_text([&] {
                loss->forward(c.predictions(), {{"mask_targets", c.targets * 255}, {"labels", c.labels}});
              }),
              prefix + "targets 'mask_targets' must lie in [0, 1], got values in [0, 255]; pass 0/1 masks (or their "
                       "resampled fractions)");
    EXPECT_EQ(error_text([&] { make_mask_loss(name, R"({"weight": -1})"); }),
              prefix + "option 'weight': expected a finite number >= 0, got -1");
    EXPECT_EQ(error_text([&] { make_mask_loss(name, R"({"weight": "high"})"); }),
              "option 'weight' in loss options: expected number, got string \"high\"");
    EXPECT_EQ(error_text([&] { make_mask_loss(name, R"({"wieght": 2})"); }),
              "unknown option 'wieght' in loss options; did you mean 'weight'? (valid options: weight)");
  }
}

}  // namespace
}  // namespace autotimm::detection_losses
