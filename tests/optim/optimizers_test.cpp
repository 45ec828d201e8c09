// make_optimizer: names and option errors, each optimizer's first step against a hand-computed value, the factory
// against libtorch's own optimizer built directly, and timm's weight-decay split.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "autotimm/optim/optimizers.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

using testing::error_text;
namespace optim = torch::optim;

// One parameter p = (1, -2) and loss ½||p||², so the gradient is p itself.
struct Problem {
  torch::Tensor p = torch::tensor({1.0, -2.0}, torch::kFloat64).requires_grad_(true);
  torch::OrderedDict<std::string, torch::Tensor> named() const {
    torch::OrderedDict<std::string, torch::Tensor> d;
    d.insert("w", p);
    return d;
  }
  void step(optim::Optimizer& opt) const {
    opt.zero_grad();
    (p * p).sum().mul(0.5).backward();
    opt.step();
  }
  double at(int i) const { return p[i].item<double>(); }
};

TEST(Optimizers, Names) {
  EXPECT_EQ(optimizer_names(), (std::vector<std::string>{"adagrad", "adam", "adamw", "lamb", "rmsprop", "sgd"}));
}

TEST(Optimizers, UnknownNameSuggests) {
  Problem pr;
  EXPECT_EQ(error_text([&] { make_optimizer("adamx", pr.named()); }),
            "unknown optimizer 'adamx': expected one of adagrad, adam, adamw, lamb, rmsprop, sgd; did you mean "
            "'adam'?");
  EXPECT_THROW(make_optimizer("", pr.named()), ConfigError);
}

TEST(Optimizers, BadOptions) {
  Problem pr;
  EXPECT_EQ(error_text([&] { make_optimizer("sgd", pr.named(), {.lr = -1}); }),
            "optimizer 'sgd': option 'lr': expected >= 0, got -1");
  EXPECT_EQ(error_text([&] { make_optimizer("sgd", pr.named(), {.momentum = 0, .nesterov = true}); }),
            "optimizer 'sgd': option 'momentum': expected > 0 with nesterov, got 0");
  EXPECT_EQ(error_text([&] { make_optimizer("adam", pr.named(), {.betas = {0.9, 1.0}}); }),
            "optimizer 'adam': option 'betas[1]': expected in [0, 1), got 1");
  EXPECT_THROW(make_optimizer("adamw", pr.named(), {.weight_decay = -0.1}), ConfigError);
  EXPECT_THROW(make_optimizer("lamb", pr.named(), {.max_grad_norm = 0.0}), ConfigError);
  auto frozen = torch::zeros({2}).requires_grad_(false);
  torch::OrderedDict<std::string, torch::Tensor> none;
  none.insert("w", frozen);
  EXPECT_THROW(make_optimizer("sgd", none), ConfigError);
}

TEST(Optimizers, SgdMomentumByHand) {
  // buf = g = p; p ← p − 0.1 buf = 0.9 p. Step 2: g = 0.9 p0, buf = 0.9 p0 + 0.9 p0 = 1.8 p0, p = 0.9 p0 − 0.18 p0.
  Problem pr;
  auto opt = make_optimizer("sgd", pr.named(), {.lr = 0.1, .momentum = 0.9});
  pr.step(*opt);
  EXPECT_DOUBLE_EQ(pr.at(0), 0.9);
  pr.step(*opt);
  EXPECT_DOUBLE_EQ(pr.at(0), 0.72);
  EXPECT_DOUBLE_EQ(pr.at(1), -1.44);
}

TEST(Optimizers, SgdNesterovAndDampening) {
  // Nesterov step 1: g + 0.9 buf = 1.9 g → p = p − 0.19 p.
  Problem pr;
  auto opt = make_optimizer("sgd", pr.named(), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  pr.step(*opt);
  EXPECT_DOUBLE_EQ(pr.at(0), 0.81);
  // Dampening 0.5: step 1 buf = g (no dampening on the first step), step 2 buf = 0.9 g1 + 0.5 g2.
  Problem pd;
  auto damp = make_optimizer("sgd", pd.named(), {.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
  pd.step(*damp);
  pd.step(*damp);
  EXPECT_DOUBLE_EQ(pd.at(0), 0.9 - 0.1 * (0.9 * 1.0 + 0.5 * 0.9));
  // Plain SGD with L2 weight decay 0.1 (one group: the parameter is 1-d, so only with the filter off).
  Problem pw;
  auto wd = make_optimizer("sgd", pw.named(),
                           {.lr = 0.1, .weight_decay = 0.1, .momentum = 0, .filter_bias_and_bn = false});
  pw.step(*wd);
  EXPECT_DOUBLE_EQ(pw.at(0), 1.0 - 0.1 * 1.1);
}

TEST(Optimizers, AdamFamilyFirstStepByHand) {
  // Adam's first step: m̂ = g, v̂ = g², so p ← p − lr g/(|g| + eps).
  Problem a;
  auto adam = make_optimizer("adam", a.named(), {.lr = 0.01});
  a.step(*adam);
  EXPECT_NEAR(a.at(0), 1.0 - 0.01 * 1.0 / (1.0 + 1e-8), 1e-15);
  EXPECT_NEAR(a.at(1), -2.0 + 0.01 * 2.0 / (2.0 + 1e-8), 1e-15);
  // AdamW: decoupled decay first, p ← p(1 − lr wd), then the Adam step.
  Problem w;
  auto adamw = make_optimizer("adamw", w.named(), {.lr = 0.01, .weight_decay = 0.5, .filter_bias_and_bn = false});
  w.step(*adamw);
  EXPECT_NEAR(w.at(0), 1.0 * (1 - 0.005) - 0.01 * 1.0 / (1.0 + 1e-8), 1e-15);
  // RMSprop (momentum 0, alpha 0.9): sq = 0.1 g², p ← p − lr g/(sqrt(0.1)|g| + eps).
  Problem r;
  auto rms = make_optimizer("rmsprop", r.named(), {.lr = 0.01, .momentum = 0});
  r.step(*rms);
  EXPECT_NEAR(r.at(1), -2.0 + 0.01 * 2.0 / (std::sqrt(0.1) * 2.0 + 1e-8), 1e-15);
  // Adagrad: sum = g², p ← p − lr g/(|g| + 1e-10).
  Problem g;
  auto adagrad = make_optimizer("adagrad", g.named(), {.lr = 0.1});
  g.step(*adagrad);
  EXPECT_NEAR(g.at(1), -2.0 + 0.1 * 2.0 / (2.0 + 1e-10), 1e-15);
}

// The factory's optimizer equals libtorch's own built directly with the same options, over 4 steps.
template <class Direct>
void expect_same_as_libtorch(const std::string& name, const OptimizerOptions& options, Direct direct) {
  Problem via_factory, via_libtorch;
  auto mine = make_optimizer(name, via_factory.named(), options);
  auto theirs = direct(via_libtorch.p);
  for (int i = 0; i < 4; ++i) {
    via_factory.step(*mine);
    via_libtorch.step(theirs);
  }
  EXPECT_TRUE(torch::equal(via_factory.p, via_libtorch.p)) << name;
}

TEST(Optimizers, MatchLibtorch) {
  const OptimizerOptions o{.lr = 0.05, .weight_decay = 0.01, .filter_bias_and_bn = false};
  expect_same_as_libtorch("sgd", o, [](torch::Tensor p) {
    return optim::SGD({p}, optim::SGDOptions(0.05).momentum(0.9).weight_decay(0.01));
  });
  expect_same_as_libtorch("adam", o, [](torch::Tensor p) {
    return optim::Adam({p}, optim::AdamOptions(0.05).weight_decay(0.01));
  });
  auto amsgrad = o;
  amsgrad.amsgrad = true;
  amsgrad.betas = {0.8, 0.99};
  expect_same_as_libtorch("adamw", amsgrad, [](torch::Tensor p) {
    return optim::AdamW({p}, optim::AdamWOptions(0.05).betas({0.8, 0.99}).amsgrad(true).weight_decay(0.01));
  });
  auto centered = o;
  centered.centered = true;
  expect_same_as_libtorch("rmsprop", centered, [](torch::Tensor p) {
    return optim::RMSprop({p}, optim::RMSpropOptions(0.05).alpha(0.9).momentum(0.9).centered(true).weight_decay(0.01));
  });
  auto adagrad = o;
  adagrad.lr_decay = 0.1;
  adagrad.initial_accumulator_value = 0.5;
  expect_same_as_libtorch("adagrad", adagrad, [](torch::Tensor p) {
    return optim::Adagrad(
        {p}, optim::AdagradOptions(0.05).lr_decay(0.1).initial_accumulator_value(0.5).weight_decay(0.01));
  });
}

struct NetImpl : torch::nn::Module {
  NetImpl() {
    fc1 = register_module("fc1", torch::nn::Linear(3, 4));
    bn = register_module("bn", torch::nn::BatchNorm1d(4));
    head = register_module("head", torch::nn::Linear(torch::nn::LinearOptions(4, 2).bias(false)));
    pos_embed = register_parameter("pos_embed", torch::zeros({1, 2, 4}));
    frozen = register_parameter("frozen", torch::zeros({4, 4}), /*requires_grad=*/false);
  }
  torch::nn::Linear fc1{nullptr}, head{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
  torch::Tensor pos_embed, frozen;
};
TORCH_MODULE(Net);

TEST(Optimizers, WeightDecaySkipsNormsBiasesAndListedNames) {
  Net net;
  auto split = split_weight_decay(net->named_parameters(), {"pos_*"});
  EXPECT_EQ(split.no_decay_names, (std::vector<std::string>{"pos_embed", "fc1.bias", "bn.weight", "bn.bias"}));
  EXPECT_EQ(split.decay_names, (std::vector<std::string>{"fc1.weight", "head.weight"}));

  auto opt = make_optimizer("adamw", *net, {.lr = 1e-3, .weight_decay = 0.05, .no_weight_decay = {"pos_embed"}});
  ASSERT_EQ(opt->param_groups().size(), 2u);
  const auto& g0 = opt->param_groups()[0];
  const auto& g1 = opt->param_groups()[1];
  EXPECT_EQ(g0.params().size(), 4u);
  EXPECT_EQ(g1.params().size(), 2u);
  EXPECT_EQ(static_cast<const optim::AdamWOptions&>(g0.options()).weight_decay(), 0.0);
  EXPECT_EQ(static_cast<const optim::AdamWOptions&>(g1.options()).weight_decay(), 0.05);
  EXPECT_TRUE(g1.params()[0].is_same(net->fc1->weight));
  EXPECT_EQ(g0.options().get_lr(), 1e-3);

  // Filter off, or no weight decay: one group of every trainable parameter.
  auto flat = make_optimizer("sgd", *net, {.weight_decay = 0.05, .filter_bias_and_bn = false});
  ASSERT_EQ(flat->param_groups().size(), 1u);
  EXPECT_EQ(flat->param_groups()[0].params().size(), 6u);
  EXPECT_EQ(static_cast<const optim::SGDOptions&>(flat->param_groups()[0].options()).weight_decay(), 0.05);
  EXPECT_EQ(make_optimizer("sgd", *net, {.weight_decay = 0})->param_groups().size(), 1u);
}

TEST(Optimizers, OptionsFromConfig) {
  auto cfg = Config::parse(R"({"name": "adamw", "lr": 0.01, "betas": [0.8, 0.9], "weight_decay": 0.1,
                               "eps": null, "no_weight_decay": ["cls_token"], "max_grad_norm": null})");
  auto o = OptimizerOptions::from(cfg);
  EXPECT_EQ(o.lr, 0.01);
  EXPECT_EQ(o.betas[0], 0.8);
  EXPECT_EQ(o.betas[1], 0.9);
  EXPECT_EQ(o.weight_decay, 0.1);
  EXPECT_FALSE(o.eps.has_value());
  EXPECT_FALSE(o.max_grad_norm.has_value());
  EXPECT_EQ(o.no_weight_decay, (std::vector<std::string>{"cls_token"}));

  auto typo = Config::parse(R"({"lr": 0.1, "weight_decy": 0.1})", "run.json");
  auto message = error_text([&] { OptimizerOptions::from(typo); });
  EXPECT_NE(message.find("unknown option 'weight_decy' in run.json; did you mean 'weight_decay'?"), std::string::npos)
      << message;
  EXPECT_THROW(OptimizerOptions::from(Config::parse(R"({"betas": [0.9]})")), ConfigError);
  EXPECT_THROW(OptimizerOptions::from(Config::parse(R"({"lr": "fast"})")), ConfigError);
}

}  // namespace
}  // namespace autotimm
