// LAMB against closed form on a 2-element parameter. Loss = c·p with c = (3, 4): the gradient is constant, and
// clipping by the global norm (max_grad_norm 1, ||c|| = 5) makes it g = (0.6, 0.8). With bias correction the
// corrected moments are exactly g and g², so each step is
//   u = g / (|g| + eps) + wd p,   p ← p − lr (||p|| / ||u||) u.
// From p = (3, 4), lr 0.1, wd 0.01, eps 1e-6 (double precision):
//   step 1: u = (1.0299983333361111, 1.0399987500015624), trust 3.4159397381042167,
//           p = (2.6481587762976067, 3.644742694229095)
//   step 2: trust 3.088453405431004, p = (2.3311352355051063, 3.3246411217562786)
//   step 3: trust 2.7921973894531886, p = (2.045406972206204, 3.0361386775741606)
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "autotimm/optim/optimizers.hpp"

namespace autotimm {
namespace {

torch::Tensor run_lamb(const LambOptions& options, int steps, torch::Tensor c = torch::tensor({3.0, 4.0}, torch::kFloat64)) {
  auto p = torch::tensor({3.0, 4.0}, torch::kFloat64).requires_grad_(true);
  Lamb lamb({p}, options);
  for (int i = 0; i < steps; ++i) {
    lamb.zero_grad();
    (c * p).sum().backward();
    lamb.step();
  }
  return p.detach();
}

void expect_near2(const torch::Tensor& p, double a, double b, double tol = 1e-12) {
  EXPECT_NEAR(p[0].item<double>(), a, tol);
  EXPECT_NEAR(p[1].item<double>(), b, tol);
}

const LambOptions kBase = LambOptions(0.1).weight_decay(0.01);

TEST(Lamb, ThreeStepsMatchClosedForm) {
  expect_near2(run_lamb(kBase, 1), 2.6481587762976067, 3.644742694229095);
  expect_near2(run_lamb(kBase, 2), 2.3311352355051063, 3.3246411217562786);
  expect_near2(run_lamb(kBase, 3), 2.045406972206204, 3.0361386775741606);
}

TEST(Lamb, NoWeightDecayMeansNoTrustRatio) {
  // wd 0: p ← p − lr g/(|g|+eps) = (3 − 0.1·0.6/0.600001, 4 − 0.1·0.8/0.800001).
  auto p = run_lamb(LambOptions(0.1).weight_decay(0.0), 1);
  expect_near2(p, 3.0 - 0.1 * 0.6 / 0.600001, 4.0 - 0.1 * 0.8 / 0.800001);
  // always_adapt: the trust ratio ||p||/||u|| = 5/||u|| applies anyway.
  auto q = run_lamb(LambOptions(0.1).weight_decay(0.0).always_adapt(true), 1);
  const double u0 = 0.6 / 0.600001, u1 = 0.8 / 0.800001, trust = 5.0 / std::hypot(u0, u1);
  expect_near2(q, 3.0 - 0.1 * trust * u0, 4.0 - 0.1 * trust * u1);
}

TEST(Lamb, TrustClipCapsTheRatioAtOne) {
  // Step 1's trust ratio is 3.416 > 1: LAMBC uses 1.
  auto p = run_lamb(LambOptions(0.1).weight_decay(0.01).trust_clip(true), 1);
  expect_near2(p, 3.0 - 0.1 * 1.0299983333361111, 4.0 - 0.1 * 1.0399987500015624);
}

TEST(Lamb, WithoutClippingTheRawGradientIsUsed) {
  // max_grad_norm off: g = (3, 4); u = g/(|g|+eps) + wd p.
  auto p = run_lamb(LambOptions(0.1).weight_decay(0.01).max_grad_norm(std::nullopt), 1);
  const double u0 = 3.0 / 3.000001 + 0.03, u1 = 4.0 / 4.000001 + 0.04, trust = 5.0 / std::hypot(u0, u1);
  expect_near2(p, 3.0 - 0.1 * trust * u0, 4.0 - 0.1 * trust * u1);
}

TEST(Lamb, NoBiasCorrectionUsesRawMoments) {
  // Step 1 without bias correction: m = 0.1 g, sqrt(v) = sqrt(0.001) |g|: u = 0.1 g / (sqrt(0.001)|g| + eps) + wd p.
  auto p = run_lamb(LambOptions(0.1).weight_decay(0.01).bias_correction(false), 1);
  const double s = std::sqrt(0.001);
  const double u0 = 0.06 / (s * 0.6 + 1e-6) + 0.03, u1 = 0.08 / (s * 0.8 + 1e-6) + 0.04;
  const double trust = 5.0 / std::hypot(u0, u1);
  expect_near2(p, 3.0 - 0.1 * trust * u0, 4.0 - 0.1 * trust * u1);
}

TEST(Lamb, FactoryBuildsItWithTimmDefaults) {
  auto w = torch::tensor({{3.0, 4.0}}, torch::kFloat64).requires_grad_(true);
  auto b = torch::tensor({1.0}, torch::kFloat64).requires_grad_(true);
  torch::OrderedDict<std::string, torch::Tensor> named;
  named.insert("fc.weight", w);
  named.insert("fc.bias", b);
  auto opt = make_optimizer("lamb", named, {.lr = 0.1, .weight_decay = 0.01});
  ASSERT_NE(dynamic_cast<Lamb*>(opt.get()), nullptr);
  ASSERT_EQ(opt->param_groups().size(), 2u);
  const auto& decay = static_cast<const LambOptions&>(opt->param_groups()[1].options());
  EXPECT_EQ(decay.eps(), 1e-6);
  EXPECT_EQ(decay.weight_decay(), 0.01);
  EXPECT_EQ(static_cast<const LambOptions&>(opt->param_groups()[0].options()).weight_decay(), 0.0);
  // One step: global norm over both grads ((3,4) and 1) = sqrt(26) → clip; the bias (no decay) moves by ~lr.
  opt->zero_grad();
  ((torch::tensor({3.0, 4.0}, torch::kFloat64) * w[0]).sum() + b.sum()).backward();
  opt->step();
  const double g_b = 1.0 / std::sqrt(26.0);
  EXPECT_NEAR(b.item<double>(), 1.0 - 0.1 * g_b / (g_b + 1e-6), 1e-12);
}

}  // namespace
}  // namespace autotimm
