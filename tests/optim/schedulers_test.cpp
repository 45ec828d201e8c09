// Each scheduler's lr at chosen steps against closed-form values; two param groups keep their ratio; the missing
// run-length error; plateau's patience and cooldown; state round trips; bad names and options.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "autotimm/optim/optimizers.hpp"
#include "autotimm/optim/schedulers.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

using testing::error_text;
constexpr double kPi = 3.14159265358979323846;

// SGD with two groups: lr 0.1 and 0.05 (ratio 1/2).
struct Fixture {
  torch::Tensor a = torch::zeros({2}, torch::kFloat64).requires_grad_(true);
  torch::Tensor b = torch::zeros({2}, torch::kFloat64).requires_grad_(true);
  std::unique_ptr<torch::optim::SGD> opt;
  Fixture() {
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(std::vector<torch::Tensor>{a}, std::make_unique<torch::optim::SGDOptions>(
                                                           torch::optim::SGDOptions(0.1).momentum(0.9)));
    groups.emplace_back(std::vector<torch::Tensor>{b}, std::make_unique<torch::optim::SGDOptions>(
                                                           torch::optim::SGDOptions(0.05).momentum(0.9)));
    opt = std::make_unique<torch::optim::SGD>(std::move(groups), torch::optim::SGDOptions(0.1));
  }
  double momentum(std::size_t g) const {
    return static_cast<const torch::optim::SGDOptions&>(opt->param_groups()[g].options()).momentum();
  }
};

void advance(LrScheduler& s, std::int64_t to) {
  while (s.last_step() < to) s.step();
}

TEST(Schedulers, Names) {
  EXPECT_EQ(scheduler_names(), (std::vector<std::string>{"cosine", "cosine_warmup", "exponential", "multistep", "none",
                                                         "onecycle", "plateau", "step"}));
}

TEST(Schedulers, CosineHalfWayIsTheMean) {
  Fixture f;
  auto s = make_scheduler("cosine", *f.opt, {.eta_min = 0.001}, SchedulerContext{.total_steps = 100});
  EXPECT_EQ(s->interval(), "step");
  EXPECT_DOUBLE_EQ(s->lr(), 0.1);
  advance(*s, 25);
  EXPECT_DOUBLE_EQ(s->lr(), 0.001 + (0.1 - 0.001) * (1 + std::cos(kPi / 4)) / 2);
  advance(*s, 50);
  EXPECT_DOUBLE_EQ(s->lrs()[0], (0.1 + 0.001) / 2);
  EXPECT_DOUBLE_EQ(s->lrs()[1], (0.05 + 0.0005) / 2);  // group 1 keeps its ratio, eta_min included
  advance(*s, 100);
  EXPECT_DOUBLE_EQ(s->lr(), 0.001);
  advance(*s, 120);
  EXPECT_DOUBLE_EQ(s->lr(), 0.001);  // stays at the minimum after the run
}

TEST(Schedulers, CosineByEpochUsesMaxEpochsOrTMax) {
  Fixture f;
  auto s = make_scheduler("cosine", *f.opt, {.interval = "epoch"}, SchedulerContext{.max_epochs = 10});
  advance(*s, 5);
  EXPECT_DOUBLE_EQ(s->lr(), 0.05);
  Fixture g;
  auto t = make_scheduler("cosine", *g.opt, {.t_max = 4});  // no context needed
  advance(*t, 2);
  EXPECT_DOUBLE_EQ(t->lr(), 0.05);
}

TEST(Schedulers, CosineWarmup) {
  Fixture f;
  auto s = make_scheduler("cosine_warmup", *f.opt, {.eta_min = 0.0, .warmup_steps = 10, .warmup_lr_init = 0.01},
                          SchedulerContext{.total_steps = 110});
  EXPECT_DOUBLE_EQ(s->lr(), 0.01);
  EXPECT_DOUBLE_EQ(s->lrs()[1], 0.005);
  advance(*s, 5);
  EXPECT_DOUBLE_EQ(s->lr(), 0.01 + 5 * (0.1 - 0.01) / 10);
  advance(*s, 10);
  EXPECT_DOUBLE_EQ(s->lr(), 0.1);  // warmup ends at the base lr, the cosine starts there
  advance(*s, 60);
  EXPECT_DOUBLE_EQ(s->lr(), 0.05);
  // Warmup in epochs, stepped per optimizer step: 2 epochs × 5 steps.
  Fixture g;
  auto e = make_scheduler("cosine", *g.opt, {.warmup_epochs = 2},
                          SchedulerContext{.total_steps = 50, .steps_per_epoch = 5, .max_epochs = 10});
  advance(*e, 5);
  EXPECT_DOUBLE_EQ(e->lr(), 0.05);
  advance(*e, 10);
  EXPECT_DOUBLE_EQ(e->lr(), 0.1);
  // cosine_warmup without a warmup is an error.
  Fixture h;
  EXPECT_THROW(make_scheduler("cosine_warmup", *h.opt, {}, SchedulerContext{.total_steps = 10}), ConfigError);
}

TEST(Schedulers, MissingRunLengthSaysTheTrainerSuppliesIt) {
  Fixture f;
  EXPECT_EQ(error_text([&] { make_scheduler("cosine", *f.opt); }),
            "scheduler 'cosine' needs the total number of steps (total_steps), which the trainer supplies when fit() "
            "builds the scheduler; use it from fit, or pass SchedulerContext{.total_steps, .steps_per_epoch, "
            ".max_epochs} to make_scheduler");
  EXPECT_EQ(error_text([&] { make_scheduler("onecycle", *f.opt); }),
            "scheduler 'onecycle' needs the total number of steps (total_steps), which the trainer supplies when fit() "
            "builds the scheduler; use it from fit, or pass SchedulerContext{.total_steps, .steps_per_epoch, "
            ".max_epochs} to make_scheduler");
  EXPECT_THROW(make_scheduler("cosine", *f.opt, {.interval = "epoch"}, SchedulerContext{.total_steps = 10}),
               ConfigError);
  EXPECT_THROW(make_scheduler("cosine", *f.opt, {.warmup_epochs = 1}, SchedulerContext{.total_steps = 10}),
               ConfigError);
  // The ones that need no length build without a context.
  for (const char* name : {"step", "exponential", "plateau", "none"}) EXPECT_NO_THROW(make_scheduler(name, *f.opt));
}

TEST(Schedulers, StepMultistepExponential) {
  Fixture f;
  auto s = make_scheduler("step", *f.opt, {.step_size = 3, .gamma = 0.5});
  advance(*s, 2);
  EXPECT_DOUBLE_EQ(s->lr(), 0.1);
  advance(*s, 3);
  EXPECT_DOUBLE_EQ(s->lr(), 0.05);
  advance(*s, 6);
  EXPECT_DOUBLE_EQ(s->lr(), 0.025);
  EXPECT_DOUBLE_EQ(s->lrs()[1], 0.0125);

  Fixture g;
  auto m = make_scheduler("multistep", *g.opt, {.milestones = {2, 5}, .gamma = 0.1});
  advance(*m, 1);
  EXPECT_DOUBLE_EQ(m->lr(), 0.1);
  advance(*m, 2);
  EXPECT_DOUBLE_EQ(m->lr(), 0.1 * 0.1);
  advance(*m, 5);
  EXPECT_DOUBLE_EQ(m->lr(), 0.1 * 0.01);

  Fixture h;
  auto e = make_scheduler("exponential", *h.opt, {.gamma = 0.9});
  advance(*e, 3);
  EXPECT_DOUBLE_EQ(e->lr(), 0.1 * std::pow(0.9, 3));
}

TEST(Schedulers, OneCyclePeaksAtPctStart) {
  Fixture f;
  auto s = make_scheduler("onecycle", *f.opt, {.max_lr = 1.0}, SchedulerContext{.total_steps = 100});
  // Start: max_lr / div_factor (OneCycleLR's cos anneal gives it to ~1e-17), momentum at max_momentum.
  EXPECT_NEAR(s->lr(), 1.0 / 25, 1e-15);
  EXPECT_NEAR(s->lrs()[1], 0.5 / 25, 1e-15);
  EXPECT_DOUBLE_EQ(f.momentum(0), 0.95);
  // Peak at step pct_start·total − 1 = 29, momentum at base_momentum.
  advance(*s, 29);
  EXPECT_DOUBLE_EQ(s->lr(), 1.0);
  EXPECT_DOUBLE_EQ(f.momentum(0), 0.85);
  // Half way down phase 2 (steps 29..99): pct 0.5 → the cosine mean of max and min.
  advance(*s, 64);
  const double min_lr = 1.0 / 25 / 1e4;
  EXPECT_NEAR(s->lr(), (1.0 + min_lr) / 2, 1e-15);
  advance(*s, 99);
  EXPECT_DOUBLE_EQ(s->lr(), min_lr);
  EXPECT_DOUBLE_EQ(f.momentum(1), 0.95);

  // Linear anneal: step 10 of 29 in phase 1.
  Fixture g;
  auto l = make_scheduler("onecycle", *g.opt, {.anneal_strategy = "linear", .cycle_momentum = false},
                          SchedulerContext{.total_steps = 100});
  advance(*l, 10);
  EXPECT_DOUBLE_EQ(l->lr(), (0.1 - 0.004) * (10.0 / 29.0) + 0.004);  // max_lr = the group's lr 0.1
  EXPECT_DOUBLE_EQ(g.momentum(0), 0.9);                              // untouched

  // Three phases: back to initial at 2·30 − 2 = 58.
  Fixture h;
  auto t = make_scheduler("onecycle", *h.opt, {.three_phase = true}, SchedulerContext{.total_steps = 100});
  advance(*t, 58);
  EXPECT_DOUBLE_EQ(t->lr(), 0.1 / 25);

  // Adagrad has no momentum to cycle.
  auto p = torch::zeros({1}).requires_grad_(true);
  torch::optim::Adagrad adagrad({p});
  EXPECT_THROW(make_scheduler("onecycle", adagrad, {}, SchedulerContext{.total_steps = 10}), ConfigError);
  EXPECT_NO_THROW(make_scheduler("onecycle", adagrad, {.cycle_momentum = false}, SchedulerContext{.total_steps = 10}));
}

TEST(Schedulers, PlateauReducesAfterPatience) {
  Fixture f;
  auto s = make_scheduler("plateau", *f.opt, {.factor = 0.5, .patience = 2});
  EXPECT_EQ(s->interval(), "epoch");
  EXPECT_TRUE(s->needs_metric());
  s->step(1.0);  // best
  s->step(1.0);  // bad 1
  s->step(1.0);  // bad 2
  EXPECT_DOUBLE_EQ(s->lr(), 0.1);
  s->step(1.0);  // bad 3 > patience → reduce
  EXPECT_DOUBLE_EQ(s->lr(), 0.05);
  EXPECT_DOUBLE_EQ(s->lrs()[1], 0.025);
  s->step(0.5);  // better: resets
  s->step(0.49996);  // not better by the relative threshold 1e-4 → bad 1
  s->step(0.5);
  s->step(0.5);
  EXPECT_DOUBLE_EQ(s->lr(), 0.025);
  EXPECT_EQ(error_text([&] { s->step(); }),
            "scheduler 'plateau' steps on a monitored value: call step(metric) (the trainer passes the checkpoint "
            "monitor, e.g. val/loss)");
}

TEST(Schedulers, PlateauMaxModeCooldownAndFloor) {
  Fixture f;
  auto s = make_scheduler("plateau", *f.opt,
                          {.mode = "max", .factor = 0.1, .patience = 0, .threshold_mode = "abs", .cooldown = 1,
                           .min_lr = 0.005});
  s->step(0.8);  // best
  s->step(0.8);  // bad 1 > 0 → 0.01, cooldown 1
  EXPECT_DOUBLE_EQ(s->lr(), 0.01);
  s->step(0.7);  // cooldown: bad count reset
  EXPECT_DOUBLE_EQ(s->lr(), 0.01);
  s->step(0.7);  // reduce again, floored at min_lr
  EXPECT_DOUBLE_EQ(s->lr(), 0.005);
  EXPECT_DOUBLE_EQ(s->lrs()[1], 0.005);  // min_lr is absolute for every group, as in PyTorch
}

TEST(Schedulers, NoneIsConstant) {
  Fixture f;
  auto s = make_scheduler("none", *f.opt);
  advance(*s, 10);
  EXPECT_EQ(s->lrs(), (std::vector<double>{0.1, 0.05}));
}

TEST(Schedulers, StateRoundTrip) {
  for (const char* name : {"cosine", "onecycle", "step", "plateau"}) {
    Fixture a, b;
    const SchedulerOptions o{.patience = 0};
    const SchedulerContext ctx{.total_steps = 20};
    auto sa = make_scheduler(name, *a.opt, o, ctx);
    for (int i = 0; i < 7; ++i) sa->step(1.0 + (i % 3 == 0 ? 0.0 : 1.0));
    // A fresh optimizer whose lrs were already overwritten (as after loading optimizer state) still resumes exactly.
    b.opt->param_groups()[0].options().set_lr(123.0);
    auto sb = make_scheduler(name, *b.opt, o, ctx);
    sb->load_state(sa->state());
    EXPECT_EQ(sb->lrs(), sa->lrs()) << name;
    EXPECT_EQ(sb->last_step(), 7) << name;
    sa->step(5.0);
    sb->step(5.0);
    EXPECT_EQ(sb->lrs(), sa->lrs()) << name;
    EXPECT_EQ(b.momentum(0), a.momentum(0)) << name;
  }
  Fixture f;
  auto s = make_scheduler("step", *f.opt);
  EXPECT_THROW(s->load_state({{"step", 1}}), FormatError);
}

TEST(Schedulers, BadNamesAndOptions) {
  Fixture f;
  EXPECT_EQ(error_text([&] { make_scheduler("cosin", *f.opt); }),
            "unknown scheduler 'cosin': expected one of cosine, cosine_warmup, exponential, multistep, none, onecycle, "
            "plateau, step; did you mean 'cosine'?");
  EXPECT_EQ(error_text([&] { make_scheduler("step", *f.opt, {.interval = "batch"}); }),
            "scheduler 'step': option 'interval': expected 'step' or 'epoch', got 'batch'");
  EXPECT_THROW(make_scheduler("step", *f.opt, {.step_size = 0}), ConfigError);
  EXPECT_THROW(make_scheduler("multistep", *f.opt, {.milestones = {5, 2}}), ConfigError);
  EXPECT_THROW(make_scheduler("plateau", *f.opt, {.mode = "up"}), ConfigError);
  EXPECT_THROW(make_scheduler("plateau", *f.opt, {.factor = 1.0}), ConfigError);
  EXPECT_THROW(make_scheduler("onecycle", *f.opt, {.pct_start = 1.5}, SchedulerContext{.total_steps = 10}),
               ConfigError);
  EXPECT_THROW(make_scheduler("cosine", *f.opt, {.warmup_steps = 10}, SchedulerContext{.total_steps = 10}),
               ConfigError);

  auto cfg = Config::parse(R"({"name": "cosine", "lr_min": 1e-5, "warmup_epochs": 1, "interval": "epoch"})");
  auto o = SchedulerOptions::from(cfg);
  EXPECT_EQ(o.eta_min, 1e-5);
  EXPECT_EQ(o.warmup_epochs, 1);
  EXPECT_EQ(o.interval, "epoch");
  auto typo = Config::parse(R"({"paitence": 3})", "run.json");
  auto message = error_text([&] { SchedulerOptions::from(typo); });
  EXPECT_NE(message.find("unknown option 'paitence' in run.json; did you mean 'patience'?"), std::string::npos)
      << message;
}

}  // namespace
}  // namespace autotimm
