// AutoTrainer::scale_batch_size (trial runs at growing batch sizes) and the tuning fit runs first when its
// TunerConfig asks.
#include <cstdlib>
#include <new>

#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "autotimm/trainer/auto_trainer.hpp"
#include "autotimm/trainer/precision.hpp"
#include "../distributed/environment.hpp"
#include "trainer_run.hpp"

namespace autotimm {

namespace {

bool is_out_of_memory(const c10::Error& error) {
  const std::string what = error.what_without_backtrace();
  return what.find("out of memory") != std::string::npos || what.find("DefaultCPUAllocator: can't allocate") !=
                                                                 std::string::npos;
}

std::string megabytes(std::int64_t bytes) { return std::to_string(bytes / (1 << 20)) + " MB"; }

}  // namespace

void AutoTrainer::Run::refuse_distributed(const std::string& what) const {
  const auto env = distributed::Environment::from_env();
  if (group != nullptr || (env && env->world_size > 1) || options.devices * options.num_nodes > 1) {
    throw ConfigError(what + " runs in one process: each rank would tune on its own and pick differently; tune with "
                             "devices = 1 first, then train distributed with what it found");
  }
}

BatchSizeFinderResult AutoTrainer::scale_batch_size(Task& task, DataModule& data,
                                                    const BatchSizeFinderOptions& options) {
  Run& run = *run_;
  if (run.options.fast_dev_run > 0) {
    spdlog::info("scale_batch_size: skipped under fast_dev_run");
    return {};
  }
  if (options.steps_per_trial < 1) throw ConfigError("scale_batch_size: 'steps_per_trial' must be >= 1");
  if (!options.max_memory_bytes && !(options.max_memory_fraction > 0.0 && options.max_memory_fraction <= 1.0)) {
    throw ConfigError("scale_batch_size: 'max_memory_fraction' must be in (0, 1]");
  }
  run.refuse_distributed("scale_batch_size");
  run.prepare(task, "tune");
  data.setup();
  task.attach_data(data);
  run.place(task);
  TaskSnapshot snapshot(task);
  const bool cuda = run.device.is_cuda();
  const std::int64_t budget =
      options.max_memory_bytes ? *options.max_memory_bytes
                               : static_cast<std::int64_t>(options.max_memory_fraction *
                                                           static_cast<double>(available_memory_bytes()));
  const std::int64_t original = data.batch_size();
  const std::int64_t samples = data.train_loader().num_samples();

  const auto trial = [&](std::int64_t size) {
    BatchSizeTrial outcome{.batch_size = size};
    data.set_batch_size(size);
    reset_peak_memory();  // counts what this trial holds, not what earlier (larger) trials left behind
    try {
      const std::int64_t steps = options.steps_per_trial;
      OptimizerSetup setup =
          task.configure_optimizers(SchedulerContext{.total_steps = steps, .steps_per_epoch = steps, .max_epochs = 1});
      const DataLoader loader = data.train_loader();
      auto pass = loader.epoch(0);
      task.train();
      for (std::int64_t i = 0; i < steps; ++i) {
        auto batch = pass.next();
        if (!batch) break;
        setup.optimizer->zero_grad();
        const StepOutput out = run.training_step(task, *batch, {.epoch = 0, .batch_idx = i, .global_step = i});
        out.loss.backward();
        setup.optimizer->step();
      }
      outcome.peak_bytes = peak_memory_bytes();
      outcome.fits = cuda || outcome.peak_bytes <= budget;
      if (!outcome.fits) outcome.reason = "peak memory " + megabytes(outcome.peak_bytes) + " over the budget of " + megabytes(budget);
    } catch (const std::bad_alloc&) {
      outcome.reason = "out of memory";
    } catch (const c10::Error& error) {
      if (!is_out_of_memory(error)) throw;
      outcome.reason = "out of memory";
    }
    snapshot.restore();
    spdlog::info("scale_batch_size: batch size {} {}", size, outcome.fits ? "fits" : "does not fit: " + outcome.reason);
    return outcome;
  };
  BatchSizeFinderResult result;
  try {
    result = search_batch_size(options, samples, trial);
  } catch (...) {
    data.set_batch_size(original);
    throw;
  }
  if (result.batch_size == 0) {
    data.set_batch_size(original);
    throw ConfigError("scale_batch_size: no batch size fits, not even 1 (" + result.trials.back().reason +
                      "); free memory, use a smaller model or images, or raise max_memory_fraction");
  }
  data.set_batch_size(result.batch_size);
  spdlog::info("scale_batch_size: batch size {} after {} trial(s)", result.batch_size, result.trials.size());
  return result;
}

void AutoTrainer::Run::tune(AutoTrainer& trainer, Task& the_task, DataModule& data) {
  if ((!options.tuner.auto_batch_size && !options.tuner.auto_lr) || is_dev_run()) return;
  if (options.tuner.auto_batch_size) trainer.scale_batch_size(the_task, data, options.tuner.batch_size);
  if (options.tuner.auto_lr) {
    const auto& o = options.tuner.lr_find;
    const auto found = trainer.lr_find(the_task, data,
                                       {.min_lr = o.min_lr, .max_lr = o.max_lr, .num_training = o.num_training,
                                        .mode = o.mode, .early_stop_threshold = o.early_stop_threshold});
    if (found.suggestion) {
      the_task.set_learning_rate(*found.suggestion);
    } else {
      spdlog::warn("auto_lr: the learning-rate finder made no suggestion; training with lr {}", the_task.learning_rate());
    }
  }
}

}  // namespace autotimm
