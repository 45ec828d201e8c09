// AutoTrainer::lr_find: the range test's loop. It shares the trainer's device, precision and batch handling, and
// leaves the task's weights, buffers and metrics as it found them.
#include <cmath>
#include <limits>
#include <optional>

#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "autotimm/trainer/auto_trainer.hpp"
#include "autotimm/trainer/precision.hpp"
#include "trainer_run.hpp"

namespace autotimm {

namespace {

void check(const LrFinderOptions& o) {
  const auto fail = [](const std::string& what) { throw ConfigError("lr_find: " + what); };
  if (!(o.min_lr > 0.0) || !(o.max_lr > o.min_lr) || !std::isfinite(o.max_lr)) {
    fail("expected 0 < min_lr < max_lr, got min_lr " + std::to_string(o.min_lr) + ", max_lr " +
         std::to_string(o.max_lr));
  }
  if (o.num_training < 1) fail("'num_training' must be >= 1, got " + std::to_string(o.num_training));
  if (o.mode != "exponential" && o.mode != "linear") fail("'mode' must be exponential or linear, got '" + o.mode + "'");
  if (!(o.smoothing >= 0.0 && o.smoothing < 1.0)) fail("'smoothing' must be in [0, 1)");
}

}  // namespace

LrFinderResult AutoTrainer::lr_find(Task& task, DataModule& data, const LrFinderOptions& options) {
  check(options);
  Run& run = *run_;
  if (run.options.fast_dev_run > 0) {
    spdlog::info("lr_find: skipped under fast_dev_run");
    return {};
  }
  run.refuse_distributed("lr_find");
  run.prepare(task, "tune");
  data.setup();
  task.attach_data(data);
  run.place(task);
  TaskSnapshot snapshot(task);  // everything the steps change, to put back at the end

  const std::int64_t steps = options.num_training;
  OptimizerSetup setup =
      task.configure_optimizers(SchedulerContext{.total_steps = steps, .steps_per_epoch = steps, .max_epochs = 1});
  LrFinderResult result;
  const DataLoader loader = data.train_loader();
  task.train();
  double average = 0.0, best = std::numeric_limits<double>::infinity();
  std::uint64_t epoch = 0;
  std::optional<DataLoader::Epoch> pass;
  pass.emplace(loader.epoch(epoch));
  for (std::int64_t i = 0; i < steps; ++i) {
    auto batch = pass->next();
    if (!batch) {
      pass.reset();  // one epoch's workers at a time
      pass.emplace(loader.epoch(++epoch));  // a small dataset: go round again
      batch = pass->next();
      if (!batch) break;
    }
    const double t = steps == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(steps - 1);
    const double lr = options.mode == "exponential" ? options.min_lr * std::pow(options.max_lr / options.min_lr, t)
                                                    : options.min_lr + (options.max_lr - options.min_lr) * t;
    for (auto& group : setup.optimizer->param_groups()) group.options().set_lr(lr);
    setup.optimizer->zero_grad();
    const StepOutput out =
        run.training_step(task, *batch, {.epoch = static_cast<std::int64_t>(epoch), .batch_idx = i, .global_step = i});
    const double loss = out.loss.detach().item<double>();
    if (!std::isfinite(loss)) {
      result.stopped_early = true;  // diverged: the rates from here on say nothing more
      break;
    }
    out.loss.backward();
    setup.optimizer->step();
    average = options.smoothing * average + (1.0 - options.smoothing) * loss;
    const double smoothed = average / (1.0 - std::pow(options.smoothing, static_cast<double>(i + 1)));
    result.lrs.push_back(lr);
    result.losses.push_back(smoothed);
    if (options.early_stop_threshold > 0.0 && i > 0 && smoothed > options.early_stop_threshold * best) {
      result.stopped_early = true;
      break;
    }
    best = std::min(best, smoothed);
  }

  snapshot.restore();
  result.suggestion = suggest_lr(result.lrs, result.losses);
  if (!options.plot_path.empty()) write_lr_plot(options.plot_path, result, options.mode == "exponential");
  if (result.suggestion) {
    spdlog::info("lr_find: suggested learning rate {:.3g} after {} steps{}", *result.suggestion, result.lrs.size(),
                 result.stopped_early ? " (stopped early: the loss diverged)" : "");
  } else {
    spdlog::warn("lr_find: no suggestion from {} steps; raise num_training or widen min_lr..max_lr",
                 result.lrs.size());
  }
  return result;
}

}  // namespace autotimm
