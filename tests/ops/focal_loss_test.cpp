// The sigmoid focal loss on hand-computed values, its limits (plain BCE), reductions, stability and messages.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/ops/focal_loss.hpp"
#include "support/error_text.hpp"

namespace autotimm::ops {
namespace {

using autotimm::testing::error_text;

TEST(FocalLoss, HandComputedValues) {
  const auto logits = torch::tensor({0.0, 2.0}, torch::kDouble);
  const auto targets = torch::tensor({1.0, 0.0}, torch::kDouble);
  const auto loss = sigmoid_focal_loss(logits, targets, {.alpha = 0.25, .gamma = 2.0});
  // Logit 0, positive: p = 0.5, ce = ln 2, (1 − p_t)² = 0.25, alpha 0.25.
  EXPECT_NEAR(loss[0].item<double>(), 0.25 * 0.25 * std::log(2.0), 1e-15);
  // Logit 2, negative: p = σ(2), ce = ln(1 + e²), p_t = 1 − p, (1 − p_t)² = p², weight 0.75.
  const double p = 1.0 / (1.0 + std::exp(-2.0));
  EXPECT_NEAR(loss[1].item<double>(), 0.75 * p * p * std::log(1.0 + std::exp(2.0)), 1e-14);
  EXPECT_NEAR(sigmoid_focal_loss(logits, targets, {.reduction = Reduction::sum}).item<double>(),
              loss.sum().item<double>(), 1e-15);
  EXPECT_NEAR(sigmoid_focal_loss(logits, targets, {.reduction = Reduction::mean}).item<double>(),
              loss.mean().item<double>(), 1e-15);
}

TEST(FocalLoss, GammaZeroWithoutAlphaIsBinaryCrossEntropy) {
  torch::manual_seed(0);
  const auto logits = torch::randn({4, 7}, torch::kDouble) * 3;
  const auto targets = (torch::rand({4, 7}, torch::kDouble) > 0.5).to(torch::kDouble);
  EXPECT_TRUE(torch::allclose(sigmoid_focal_loss(logits, targets, {.alpha = -1.0, .gamma = 0.0}),
                              torch::binary_cross_entropy_with_logits(logits, targets, {}, {}, at::Reduction::None)));
  // Focusing only ever lowers the loss of each element.
  EXPECT_TRUE(torch::all(sigmoid_focal_loss(logits, targets, {.alpha = -1.0, .gamma = 2.0}) <=
                         sigmoid_focal_loss(logits, targets, {.alpha = -1.0, .gamma = 0.0}))
                  .item<bool>());
}

TEST(FocalLoss, StableForExtremeLogits) {
  auto logits = torch::tensor({-200.0f, 200.0f, -200.0f, 200.0f}).requires_grad_();
  const auto targets = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f});
  const auto loss = sigmoid_focal_loss(logits, targets, {.reduction = Reduction::sum});
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
  EXPECT_GT(loss.item<double>(), 100.0);  // the two confident mistakes cost about 200 · weight each
  loss.backward();
  EXPECT_TRUE(torch::isfinite(logits.grad()).all().item<bool>());
}

TEST(FocalLoss, BadInputsSayWhat) {
  EXPECT_EQ(error_text([] { sigmoid_focal_loss(torch::zeros({2, 3}), torch::zeros({3, 2})); }),
            "sigmoid_focal_loss: expected logits and targets of the same shape");
  EXPECT_EQ(error_text([] { sigmoid_focal_loss(torch::zeros({2}), torch::zeros({2}), {.gamma = -1.0}); }),
            "sigmoid_focal_loss: expected gamma >= 0, got -1.000000");
}

}  // namespace
}  // namespace autotimm::ops
