// Exact resume: train 3 steps, save optimizer and scheduler state as named tensors / numbers, load them into a fresh
// model, optimizer and scheduler, train 3 more: bit for bit the same as 6 uninterrupted steps. For every optimizer.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "autotimm/error.hpp"
#include "autotimm/optim/optimizers.hpp"
#include "autotimm/optim/schedulers.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

using testing::error_text;

torch::nn::Sequential tiny_model() {
  torch::manual_seed(7);
  return torch::nn::Sequential(torch::nn::Linear(4, 8), torch::nn::Tanh(), torch::nn::Linear(8, 3));
}

void train(torch::nn::Sequential& model, torch::optim::Optimizer& opt, LrScheduler& sched, int from, int to) {
  for (int step = from; step < to; ++step) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(100 + step);
    auto x = torch::randn({5, 4}, gen);
    auto y = torch::randn({5, 3}, gen);
    opt.zero_grad();
    torch::mse_loss(model->forward(x), y).backward();
    opt.step();
    sched.step();
  }
}

class Resume : public ::testing::TestWithParam<std::string> {};

TEST_P(Resume, SixStepsEqualThreePlusThree) {
  const OptimizerOptions options{.lr = 0.05, .weight_decay = 0.01, .amsgrad = true, .centered = true};
  const SchedulerOptions sched_options{.eta_min = 1e-4, .warmup_steps = 2};
  const SchedulerContext ctx{.total_steps = 10};

  auto straight = tiny_model();
  auto opt_a = make_optimizer(GetParam(), *straight, options);
  auto sched_a = make_scheduler("cosine", *opt_a, sched_options, ctx);
  train(straight, *opt_a, *sched_a, 0, 6);

  auto first = tiny_model();
  auto opt_b = make_optimizer(GetParam(), *first, options);
  auto sched_b = make_scheduler("cosine", *opt_b, sched_options, ctx);
  train(first, *opt_b, *sched_b, 0, 3);
  auto tensors = optimizer_state_tensors(*opt_b);
  auto sched_state = sched_b->state();
  ASSERT_TRUE(tensors.count("optimizer.param_groups.0.lr"));
  ASSERT_TRUE(tensors.count("optimizer.param_groups.1.lr"));

  auto resumed = tiny_model();  // same init, then the weights after 3 steps
  {
    torch::NoGradGuard no_grad;
    auto src = first->parameters();
    auto dst = resumed->parameters();
    for (std::size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  auto opt_c = make_optimizer(GetParam(), *resumed, options);
  auto sched_c = make_scheduler("cosine", *opt_c, sched_options, ctx);
  load_optimizer_state_tensors(*opt_c, tensors);
  sched_c->load_state(sched_state);
  EXPECT_EQ(sched_c->lrs(), sched_b->lrs());
  train(resumed, *opt_c, *sched_c, 3, 6);

  auto expected = straight->parameters();
  auto got = resumed->parameters();
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_TRUE(torch::equal(expected[i], got[i])) << GetParam() << " " << i;
  EXPECT_EQ(sched_c->lrs(), sched_a->lrs());
}

INSTANTIATE_TEST_SUITE_P(AllOptimizers, Resume,
                         ::testing::Values("sgd", "adam", "adamw", "rmsprop", "adagrad", "lamb"));

TEST(OptimizerState, NamesAndFields) {
  auto model = tiny_model();
  auto opt = make_optimizer("adam", *model, {.lr = 0.1, .weight_decay = 0.1});
  auto ctx = SchedulerContext{.total_steps = 10};
  auto sched = make_scheduler("none", *opt, {}, ctx);
  train(model, *opt, *sched, 0, 1);
  auto tensors = optimizer_state_tensors(*opt);
  // Group 0 = the two biases (no decay), group 1 = the two weights.
  EXPECT_EQ(tensors.at("optimizer.state.0.0.exp_avg").sizes(), torch::IntArrayRef({8}));
  EXPECT_EQ(tensors.at("optimizer.state.1.1.exp_avg_sq").sizes(), torch::IntArrayRef({3, 8}));
  EXPECT_EQ(tensors.at("optimizer.state.1.0.step").item<std::int64_t>(), 1);
  EXPECT_EQ(tensors.at("optimizer.param_groups.1.lr").item<double>(), 0.1);
  EXPECT_EQ(tensors.size(), 2u + 4u * 3u);
}

TEST(OptimizerState, BadKeysAreFormatErrors) {
  auto model = tiny_model();
  auto opt = make_optimizer("adam", *model, {.lr = 0.1, .weight_decay = 0.1});
  EXPECT_EQ(error_text([&] { load_optimizer_state_tensors(*opt, {{"optimizer.state.0.9.exp_avg", torch::zeros({8})}}); }),
            "optimizer state: 'optimizer.state.0.9.exp_avg': expected a parameter index below 2");
  EXPECT_EQ(error_text([&] { load_optimizer_state_tensors(*opt, {{"optimizer.state.0.0.exp_avg", torch::zeros({3})}}); }),
            "optimizer state: 'optimizer.state.0.0.exp_avg': expected shape [8] (the parameter's), got [3]");
  EXPECT_EQ(error_text([&] { load_optimizer_state_tensors(*opt, {{"optimizer.state.0.0.momentum_buffer", torch::zeros({8})}}); }),
            "optimizer state: 'optimizer.state.0.0.momentum_buffer': unknown field 'momentum_buffer' for this "
            "optimizer; expected one of exp_avg, exp_avg_sq, max_exp_avg_sq, step");
  EXPECT_THROW(load_optimizer_state_tensors(*opt, {{"model.fc.weight", torch::zeros({8})}}), FormatError);
  EXPECT_THROW(load_optimizer_state_tensors(*opt, {{"optimizer.param_groups.2.lr", torch::zeros({})}}), FormatError);
}

}  // namespace
}  // namespace autotimm
