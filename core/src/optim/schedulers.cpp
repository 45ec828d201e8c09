// Learning-rate schedulers by name: closed-form curves (cosine, warmup, step, multistep, exponential, onecycle) and
// ReduceLROnPlateau. See schedulers.hpp for the formulas.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "autotimm/optim/optimizers.hpp"
#include "autotimm/optim/schedulers.hpp"

namespace autotimm {
namespace {

namespace optim = torch::optim;
constexpr double kPi = 3.14159265358979323846;

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

[[noreturn]] void bad_option(const std::string& name, const std::string& option, const std::string& expected,
                             const std::string& got) {
  throw ConfigError("scheduler '" + name + "': option '" + option + "': expected " + expected + ", got " + got);
}

double cosine_anneal(double start, double end, double pct) { return end + (start - end) / 2.0 * (std::cos(kPi * pct) + 1.0); }
double linear_anneal(double start, double end, double pct) { return (end - start) * pct + start; }

// ---- constant ----
class ConstantScheduler final : public LrScheduler {
 public:
  ConstantScheduler(std::string interval, optim::Optimizer& optimizer)
      : LrScheduler("none", std::move(interval), optimizer) {}

 protected:
  void apply() override {
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) set_lr(g, base_lrs_[g]);
  }
};

// ---- cosine with optional linear warmup ----
class CosineScheduler final : public LrScheduler {
 public:
  CosineScheduler(std::string name, std::string interval, optim::Optimizer& optimizer, std::int64_t total,
                  std::int64_t warmup, double warmup_lr_init, double eta_min)
      : LrScheduler(std::move(name), std::move(interval), optimizer),
        total_(total), warmup_(warmup), warmup_lr_init_(warmup_lr_init), eta_min_(eta_min) {
    apply();
  }

 protected:
  void apply() override {
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
      const double scale = base_lrs_[0] > 0 ? base_lrs_[g] / base_lrs_[0] : 1.0;
      const double base = base_lrs_[g];
      const double eta_min = eta_min_ * scale;
      double lr;
      if (t_ < warmup_) {
        const double init = warmup_lr_init_ * scale;
        lr = init + static_cast<double>(t_) * (base - init) / static_cast<double>(warmup_);
      } else if (t_ >= total_) {
        lr = eta_min;
      } else {
        const double pct = static_cast<double>(t_ - warmup_) / static_cast<double>(total_ - warmup_);
        lr = eta_min + (base - eta_min) * (1.0 + std::cos(kPi * pct)) / 2.0;
      }
      set_lr(g, lr);
    }
  }

 private:
  std::int64_t total_, warmup_;
  double warmup_lr_init_, eta_min_;
};

// ---- step / multistep / exponential: base * gamma^k(t) ----
class DecayScheduler final : public LrScheduler {
 public:
  DecayScheduler(std::string name, std::string interval, optim::Optimizer& optimizer, double gamma,
                 std::function<std::int64_t(std::int64_t)> exponent)
      : LrScheduler(std::move(name), std::move(interval), optimizer), gamma_(gamma), exponent_(std::move(exponent)) {
    apply();
  }

 protected:
  void apply() override {
    const double factor = std::pow(gamma_, static_cast<double>(exponent_(t_)));
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) set_lr(g, base_lrs_[g] * factor);
  }

 private:
  double gamma_;
  std::function<std::int64_t(std::int64_t)> exponent_;
};

// ---- onecycle (torch.optim.lr_scheduler.OneCycleLR) ----
enum class MomentumKind { kNone, kMomentum, kBeta1 };

MomentumKind momentum_kind(const optim::Optimizer& optimizer) {
  if (dynamic_cast<const optim::SGD*>(&optimizer) || dynamic_cast<const optim::RMSprop*>(&optimizer)) {
    return MomentumKind::kMomentum;
  }
  if (dynamic_cast<const optim::Adam*>(&optimizer) || dynamic_cast<const optim::AdamW*>(&optimizer) ||
      dynamic_cast<const Lamb*>(&optimizer)) {
    return MomentumKind::kBeta1;
  }
  return MomentumKind::kNone;
}

void set_momentum(optim::OptimizerOptions& options, double momentum) {
  if (auto* s = dynamic_cast<optim::SGDOptions*>(&options)) {
    s->momentum(momentum);
  } else if (auto* r = dynamic_cast<optim::RMSpropOptions*>(&options)) {
    r->momentum(momentum);
  } else if (auto* a = dynamic_cast<optim::AdamOptions*>(&options)) {
    a->betas({momentum, std::get<1>(a->betas())});
  } else if (auto* w = dynamic_cast<optim::AdamWOptions*>(&options)) {
    w->betas({momentum, std::get<1>(w->betas())});
  } else if (auto* l = dynamic_cast<LambOptions*>(&options)) {
    l->betas({momentum, std::get<1>(l->betas())});
  }
}

class OneCycleScheduler final : public LrScheduler {
 public:
  OneCycleScheduler(std::string interval, optim::Optimizer& optimizer, std::int64_t total, const SchedulerOptions& o)
      : LrScheduler("onecycle", std::move(interval), optimizer), total_(total), options_(o) {
    const double t = static_cast<double>(total);
    if (o.three_phase) {
      phases_ = {{o.pct_start * t - 1, 0, 1, 1, 0},
                 {2 * o.pct_start * t - 2, 1, 0, 0, 1},
                 {t - 1, 0, 2, 1, 1}};
    } else {
      phases_ = {{o.pct_start * t - 1, 0, 1, 1, 0}, {t - 1, 1, 2, 0, 1}};
    }
    apply();
  }

 protected:
  void apply() override {
    const double step_num = static_cast<double>(std::min<std::int64_t>(t_, total_ - 1));
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
      const double scale = base_lrs_[0] > 0 ? base_lrs_[g] / base_lrs_[0] : 1.0;
      const double max_lr = options_.max_lr ? *options_.max_lr * scale : base_lrs_[g];
      const double initial_lr = max_lr / options_.div_factor;
      const double min_lr = initial_lr / options_.final_div_factor;
      const double lr_points[3] = {initial_lr, max_lr, min_lr};
      const double momentum_points[2] = {options_.base_momentum, options_.max_momentum};
      double start_step = 0, lr = 0, momentum = 0;
      for (std::size_t i = 0; i < phases_.size(); ++i) {
        const auto& phase = phases_[i];
        if (step_num <= phase.end_step || i + 1 == phases_.size()) {
          const double pct = (step_num - start_step) / (phase.end_step - start_step);
          auto anneal = options_.anneal_strategy == "linear" ? linear_anneal : cosine_anneal;
          lr = anneal(lr_points[phase.start_lr], lr_points[phase.end_lr], pct);
          momentum = anneal(momentum_points[phase.start_m], momentum_points[phase.end_m], pct);
          break;
        }
        start_step = phase.end_step;
      }
      set_lr(g, lr);
      if (options_.cycle_momentum) set_momentum(optimizer_->param_groups()[g].options(), momentum);
    }
  }

 private:
  struct Phase {
    double end_step;
    int start_lr, end_lr;  // 0 initial, 1 max, 2 min
    int start_m, end_m;    // 0 base, 1 max
  };
  std::int64_t total_;
  SchedulerOptions options_;
  std::vector<Phase> phases_;
};

// ---- plateau (torch.optim.lr_scheduler.ReduceLROnPlateau) ----
class PlateauScheduler final : public LrScheduler {
 public:
  PlateauScheduler(std::string interval, optim::Optimizer& optimizer, const SchedulerOptions& o)
      : LrScheduler("plateau", std::move(interval), optimizer), o_(o) {
    best_ = worse();
  }
  bool needs_metric() const noexcept override { return true; }
  void step() override {
    throw ConfigError("scheduler 'plateau' steps on a monitored value: call step(metric) (the trainer passes the "
                      "checkpoint monitor, e.g. val/loss)");
  }
  void step(double metric) override {
    ++t_;
    if (better(metric, best_)) {
      best_ = metric;
      num_bad_ = 0;
    } else {
      ++num_bad_;
    }
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      num_bad_ = 0;
    }
    if (num_bad_ > o_.patience) {
      for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
        const double old_lr = optimizer_->param_groups()[g].options().get_lr();
        const double new_lr = std::max(old_lr * o_.factor, o_.min_lr);
        if (old_lr - new_lr > o_.eps) set_lr(g, new_lr);
      }
      cooldown_counter_ = o_.cooldown;
      num_bad_ = 0;
    }
  }
  std::map<std::string, double> state() const override {
    auto s = LrScheduler::state();
    s["best"] = best_;
    s["num_bad_epochs"] = static_cast<double>(num_bad_);
    s["cooldown_counter"] = static_cast<double>(cooldown_counter_);
    return s;
  }
  void load_state(const std::map<std::string, double>& state) override {
    for (const char* key : {"best", "num_bad_epochs", "cooldown_counter"}) {
      if (!state.count(key)) throw FormatError(std::string("scheduler state: missing '") + key + "' for 'plateau'");
    }
    best_ = state.at("best");
    num_bad_ = static_cast<std::int64_t>(state.at("num_bad_epochs"));
    cooldown_counter_ = static_cast<std::int64_t>(state.at("cooldown_counter"));
    LrScheduler::load_state(state);
  }

 protected:
  void apply() override {}  // the lrs only change in step(metric)

 private:
  double worse() const {
    return o_.mode == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  }
  bool better(double a, double best) const {
    const bool rel = o_.threshold_mode == "rel";
    if (o_.mode == "min") return rel ? a < best * (1.0 - o_.threshold) : a < best - o_.threshold;
    return rel ? a > best * (o_.threshold + 1.0) : a > best + o_.threshold;
  }

  SchedulerOptions o_;
  double best_ = 0;
  std::int64_t num_bad_ = 0;
  std::int64_t cooldown_counter_ = 0;
};

const std::vector<std::string>& names() {
  static const std::vector<std::string> list = {"cosine",    "cosine_warmup", "exponential", "multistep",
                                                "none",      "onecycle",      "plateau",     "step"};
  return list;
}

[[noreturn]] void missing_length(const std::string& name, const std::string& what) {
  throw ConfigError("scheduler '" + name + "' needs " + what +
                    ", which the trainer supplies when fit() builds the scheduler; use it from fit, or pass "
                    "SchedulerContext{.total_steps, .steps_per_epoch, .max_epochs} to make_scheduler");
}

}  // namespace

// ---- LrScheduler ----
LrScheduler::LrScheduler(std::string name, std::string interval, torch::optim::Optimizer& optimizer)
    : name_(std::move(name)), interval_(std::move(interval)), optimizer_(&optimizer) {
  for (const auto& group : optimizer.param_groups()) base_lrs_.push_back(group.options().get_lr());
}
LrScheduler::~LrScheduler() = default;

void LrScheduler::step() {
  ++t_;
  apply();
}
void LrScheduler::step(double /*metric*/) { step(); }

std::vector<double> LrScheduler::lrs() const {
  std::vector<double> out;
  for (const auto& group : optimizer_->param_groups()) out.push_back(group.options().get_lr());
  return out;
}
double LrScheduler::lr() const { return optimizer_->param_groups().at(0).options().get_lr(); }

void LrScheduler::set_lr(std::size_t group, double lr) { optimizer_->param_groups()[group].options().set_lr(lr); }

std::map<std::string, double> LrScheduler::state() const {
  std::map<std::string, double> s;
  s["step"] = static_cast<double>(t_);
  const auto now = lrs();
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    s["base_lr." + std::to_string(g)] = base_lrs_[g];
    s["lr." + std::to_string(g)] = now[g];
  }
  return s;
}

void LrScheduler::load_state(const std::map<std::string, double>& state) {
  auto need = [&](const std::string& key) {
    auto it = state.find(key);
    if (it == state.end()) {
      throw FormatError("scheduler state: missing '" + key + "' for '" + name_ + "' with " +
                        std::to_string(base_lrs_.size()) + " param groups");
    }
    return it->second;
  };
  if (state.count("base_lr." + std::to_string(base_lrs_.size()))) {
    throw FormatError("scheduler state: more param groups than the optimizer's " + std::to_string(base_lrs_.size()));
  }
  t_ = static_cast<std::int64_t>(need("step"));
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) base_lrs_[g] = need("base_lr." + std::to_string(g));
  apply();
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) set_lr(g, need("lr." + std::to_string(g)));
}

std::vector<std::string> scheduler_names() { return names(); }

std::unique_ptr<LrScheduler> make_scheduler(const std::string& name, torch::optim::Optimizer& optimizer,
                                            const SchedulerOptions& o, std::optional<SchedulerContext> context) {
  if (std::find(names().begin(), names().end(), name) == names().end()) {
    std::string message = "unknown scheduler '" + name + "': expected one of " + join_names(names());
    if (auto hint = did_you_mean(name, names())) message += "; did you mean '" + *hint + "'?";
    throw ConfigError(message);
  }
  std::string interval = o.interval.empty() ? (name == "plateau" ? "epoch" : "step") : o.interval;
  if (interval != "step" && interval != "epoch") bad_option(name, "interval", "'step' or 'epoch'", "'" + interval + "'");
  const bool per_step = interval == "step";
  const SchedulerContext ctx = context.value_or(SchedulerContext{});

  if (name == "none") return std::make_unique<ConstantScheduler>(interval, optimizer);

  if (name == "cosine" || name == "cosine_warmup") {
    if (o.eta_min < 0) bad_option(name, "eta_min", ">= 0", number(o.eta_min));
    if (o.warmup_steps < 0) bad_option(name, "warmup_steps", ">= 0", std::to_string(o.warmup_steps));
    if (o.warmup_epochs < 0) bad_option(name, "warmup_epochs", ">= 0", std::to_string(o.warmup_epochs));
    if (o.warmup_steps > 0 && o.warmup_epochs > 0) {
      bad_option(name, "warmup_steps", "either warmup_steps or warmup_epochs, not both",
                 std::to_string(o.warmup_steps) + " and warmup_epochs " + std::to_string(o.warmup_epochs));
    }
    std::int64_t warmup = 0;
    if (o.warmup_steps > 0) {
      if (!per_step) bad_option(name, "warmup_steps", "warmup_epochs with interval 'epoch'", std::to_string(o.warmup_steps));
      warmup = o.warmup_steps;
    } else if (o.warmup_epochs > 0) {
      if (per_step) {
        if (ctx.steps_per_epoch <= 0) missing_length(name, "the number of steps per epoch (to turn warmup_epochs into steps)");
        warmup = o.warmup_epochs * ctx.steps_per_epoch;
      } else {
        warmup = o.warmup_epochs;
      }
    }
    if (name == "cosine_warmup" && warmup == 0) {
      bad_option(name, "warmup_steps", "warmup_steps or warmup_epochs > 0", "none");
    }
    std::int64_t total = 0;
    if (o.t_max) {
      total = *o.t_max;
      if (total <= 0) bad_option(name, "t_max", "> 0", std::to_string(total));
    } else if (per_step) {
      if (ctx.total_steps <= 0) missing_length(name, "the total number of steps (total_steps)");
      total = ctx.total_steps;
    } else {
      if (ctx.max_epochs <= 0) missing_length(name, "the number of epochs (max_epochs)");
      total = ctx.max_epochs;
    }
    if (warmup >= total) {
      bad_option(name, "warmup", "fewer " + interval + "s than the run's " + std::to_string(total),
                 std::to_string(warmup));
    }
    return std::make_unique<CosineScheduler>(name, interval, optimizer, total, warmup, o.warmup_lr_init, o.eta_min);
  }

  if (name == "step" || name == "multistep" || name == "exponential") {
    if (o.gamma <= 0) bad_option(name, "gamma", "> 0", number(o.gamma));
    std::function<std::int64_t(std::int64_t)> exponent;
    if (name == "step") {
      if (o.step_size <= 0) bad_option(name, "step_size", "> 0", std::to_string(o.step_size));
      exponent = [size = o.step_size](std::int64_t t) { return t / size; };
    } else if (name == "multistep") {
      if (o.milestones.empty()) bad_option(name, "milestones", "a non-empty list of steps", "[]");
      if (!std::is_sorted(o.milestones.begin(), o.milestones.end())) {
        bad_option(name, "milestones", "increasing steps", "an unsorted list");
      }
      exponent = [milestones = o.milestones](std::int64_t t) {
        return static_cast<std::int64_t>(std::upper_bound(milestones.begin(), milestones.end(), t) - milestones.begin());
      };
    } else {
      exponent = [](std::int64_t t) { return t; };
    }
    return std::make_unique<DecayScheduler>(name, interval, optimizer, o.gamma, std::move(exponent));
  }

  if (name == "onecycle") {
    if (o.pct_start < 0 || o.pct_start > 1) bad_option(name, "pct_start", "in [0, 1]", number(o.pct_start));
    if (o.anneal_strategy != "cos" && o.anneal_strategy != "linear") {
      bad_option(name, "anneal_strategy", "'cos' or 'linear'", "'" + o.anneal_strategy + "'");
    }
    if (o.div_factor <= 0) bad_option(name, "div_factor", "> 0", number(o.div_factor));
    if (o.final_div_factor <= 0) bad_option(name, "final_div_factor", "> 0", number(o.final_div_factor));
    if (o.max_lr && *o.max_lr <= 0) bad_option(name, "max_lr", "> 0", number(*o.max_lr));
    if (o.cycle_momentum && momentum_kind(optimizer) == MomentumKind::kNone) {
      bad_option(name, "cycle_momentum", "false for an optimizer without momentum or betas (adagrad)", "true");
    }
    std::int64_t total = per_step ? ctx.total_steps : ctx.max_epochs;
    if (total <= 0) {
      missing_length(name, per_step ? "the total number of steps (total_steps)" : "the number of epochs (max_epochs)");
    }
    return std::make_unique<OneCycleScheduler>(interval, optimizer, total, o);
  }

  // plateau
  if (o.mode != "min" && o.mode != "max") bad_option(name, "mode", "'min' or 'max'", "'" + o.mode + "'");
  if (o.threshold_mode != "rel" && o.threshold_mode != "abs") {
    bad_option(name, "threshold_mode", "'rel' or 'abs'", "'" + o.threshold_mode + "'");
  }
  if (o.factor <= 0 || o.factor >= 1) bad_option(name, "factor", "in (0, 1)", number(o.factor));
  if (o.patience < 0) bad_option(name, "patience", ">= 0", std::to_string(o.patience));
  if (o.cooldown < 0) bad_option(name, "cooldown", ">= 0", std::to_string(o.cooldown));
  if (o.min_lr < 0) bad_option(name, "min_lr", ">= 0", number(o.min_lr));
  return std::make_unique<PlateauScheduler>(interval, optimizer, o);
}

SchedulerOptions SchedulerOptions::from(const Config& config) {
  SchedulerOptions o;
  config.accept("name");
  o.interval = config.get("interval", o.interval);
  o.eta_min = config.get("eta_min", config.get("lr_min", o.eta_min));
  if (auto t_max = config.get_optional<std::int64_t>("t_max")) o.t_max = t_max;
  o.warmup_steps = config.get("warmup_steps", o.warmup_steps);
  o.warmup_epochs = config.get("warmup_epochs", o.warmup_epochs);
  o.warmup_lr_init = config.get("warmup_lr_init", o.warmup_lr_init);
  o.step_size = config.get("step_size", o.step_size);
  o.milestones = config.get("milestones", o.milestones);
  o.gamma = config.get("gamma", o.gamma);
  o.max_lr = config.get_optional<double>("max_lr");
  o.pct_start = config.get("pct_start", o.pct_start);
  o.anneal_strategy = config.get("anneal_strategy", o.anneal_strategy);
  o.div_factor = config.get("div_factor", o.div_factor);
  o.final_div_factor = config.get("final_div_factor", o.final_div_factor);
  o.three_phase = config.get("three_phase", o.three_phase);
  o.cycle_momentum = config.get("cycle_momentum", o.cycle_momentum);
  o.base_momentum = config.get("base_momentum", o.base_momentum);
  o.max_momentum = config.get("max_momentum", o.max_momentum);
  o.mode = config.get("mode", o.mode);
  o.factor = config.get("factor", o.factor);
  o.patience = config.get("patience", o.patience);
  o.threshold = config.get("threshold", o.threshold);
  o.threshold_mode = config.get("threshold_mode", o.threshold_mode);
  o.cooldown = config.get("cooldown", o.cooldown);
  o.min_lr = config.get("min_lr", o.min_lr);
  o.eps = config.get("eps", o.eps);
  config.expect_all_used();
  return o;
}

}  // namespace autotimm
