#pragma once
// Learning-rate schedulers by name, as AutoTimm's `scheduler=` option:
//
//   auto sched = autotimm::make_scheduler("cosine", *opt, {.eta_min = 1e-6},
//                                         autotimm::SchedulerContext{.total_steps = 1000});
//   for (...) { opt->step(); sched->step(); }   // interval "step": once per optimizer step
//
// Names: cosine, cosine_warmup, step, multistep, exponential, onecycle, plateau, none. A scheduler counts its own
// steps t (0 at construction, +1 per step()); the unit is the interval: optimizer steps ("step") or epochs
// ("epoch"). It sets the lr of every param group: each group follows the curve scaled by its own base lr (the
// group's lr at construction), so the ratios between groups are kept. Construction sets the lr for t = 0.
//
// cosine      eta_min + (base - eta_min) (1 + cos(pi t / T)) / 2 for t < T, eta_min after (timm's CosineLRScheduler,
//             one cycle; PyTorch's CosineAnnealingLR closed form). T = t_max, else total_steps ("step") or
//             max_epochs ("epoch") from the trainer. With warmup (warmup_steps or warmup_epochs > 0): linear from
//             warmup_lr_init to base over the first W units, then the cosine over the remaining T - W.
// cosine_warmup   cosine that requires a warmup.
// step        base * gamma^floor(t / step_size)                 (StepLR)
// multistep   base * gamma^(number of milestones <= t)           (MultiStepLR)
// exponential base * gamma^t                                     (ExponentialLR)
// onecycle    OneCycleLR's phases and anneal (cos or linear), three_phase, and cycle_momentum (momentum of sgd and
//             rmsprop, beta1 of adam/adamw/lamb) between base_momentum and max_momentum. max_lr defaults to each
//             group's lr; a given max_lr is for group 0, other groups keep their ratio. Total = total_steps.
// plateau     ReduceLROnPlateau: step(metric); mode min/max, threshold_mode rel/abs, patience, cooldown, factor,
//             min_lr, eps. Interval defaults to "epoch".
// none        constant lr.
//
// A scheduler that needs the run's length (cosine without t_max, onecycle, warmup given in epochs with interval
// "step") and gets no SchedulerContext throws a ConfigError that says the trainer supplies it.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "autotimm/config.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

/// The run's length, from the trainer (AutoTrainer::fit builds schedulers with it). 0 = unknown.
struct SchedulerContext {
  std::int64_t total_steps = 0;      ///< optimizer steps in the whole run
  std::int64_t steps_per_epoch = 0;  ///< optimizer steps per epoch
  std::int64_t max_epochs = 0;
};

/// Keyword arguments of make_scheduler. A field a scheduler does not use is ignored.
struct SchedulerOptions {
  std::string interval = "";              ///< "step" or "epoch"; "" = "epoch" for plateau, "step" otherwise
  // cosine / cosine_warmup
  double eta_min = 0.0;                   ///< final lr (timm's lr_min) of group 0
  std::optional<std::int64_t> t_max = {}; ///< cosine length in interval units, instead of the context's
  std::int64_t warmup_steps = 0;          ///< warmup in optimizer steps
  std::int64_t warmup_epochs = 0;         ///< warmup in epochs
  double warmup_lr_init = 0.0;            ///< lr of group 0 at t = 0 of the warmup
  // step / multistep / exponential
  std::int64_t step_size = 30;
  std::vector<std::int64_t> milestones = {};
  double gamma = 0.1;
  // onecycle
  std::optional<double> max_lr = {};
  double pct_start = 0.3;
  std::string anneal_strategy = "cos";    ///< cos or linear
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  bool three_phase = false;
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  // plateau
  std::string mode = "min";               ///< min or max
  double factor = 0.1;
  std::int64_t patience = 10;
  double threshold = 1e-4;
  std::string threshold_mode = "rel";     ///< rel or abs
  std::int64_t cooldown = 0;
  double min_lr = 0.0;
  double eps = 1e-8;

  /// From a config object with the keys above (and "name", left to the caller; "lr_min" is read as eta_min);
  /// unknown keys are a ConfigError with suggestions.
  static AUTOTIMM_API SchedulerOptions from(const Config& config);
};

class AUTOTIMM_API LrScheduler {
 public:
  virtual ~LrScheduler();
  const std::string& name() const noexcept { return name_; }
  /// "step" or "epoch": when the trainer calls step().
  const std::string& interval() const noexcept { return interval_; }
  /// Whether step(metric) is the call to make (plateau).
  virtual bool needs_metric() const noexcept { return false; }
  /// Advances one unit and sets the lrs. Plateau throws ConfigError: it needs step(metric).
  virtual void step();
  /// Advances one unit with the monitored value (plateau); the others ignore the value.
  virtual void step(double metric);
  /// Units stepped so far.
  std::int64_t last_step() const noexcept { return t_; }
  /// Each group's lr now.
  std::vector<double> lrs() const;
  /// Group 0's lr now.
  double lr() const;
  /// Everything needed to resume exactly: "step", "base_lr.<g>", "lr.<g>", plus the scheduler's own counters.
  virtual std::map<std::string, double> state() const;
  /// Restores state() into a scheduler built the same way and sets the groups' lrs. Missing keys or a different
  /// group count → FormatError.
  virtual void load_state(const std::map<std::string, double>& state);

 protected:
  LrScheduler(std::string name, std::string interval, torch::optim::Optimizer& optimizer);
  /// Sets every group's lr (and momentum) for step t_.
  virtual void apply() = 0;
  void set_lr(std::size_t group, double lr);

  std::string name_;
  std::string interval_;
  torch::optim::Optimizer* optimizer_;
  std::vector<double> base_lrs_;
  std::int64_t t_ = 0;
};

/// The names make_scheduler accepts, sorted.
AUTOTIMM_API std::vector<std::string> scheduler_names();

/// Builds the scheduler `name` for `optimizer` (which must outlive it). Unknown name, bad option, or a missing
/// run length (see above) → ConfigError.
AUTOTIMM_API std::unique_ptr<LrScheduler> make_scheduler(const std::string& name, torch::optim::Optimizer& optimizer,
                                                         const SchedulerOptions& options = {},
                                                         std::optional<SchedulerContext> context = {});

}  // namespace autotimm
