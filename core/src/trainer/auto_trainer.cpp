// AutoTrainer's loops: fit (train, periodic validation, scheduler steps, callbacks), validate, test, predict.
#include "autotimm/trainer/auto_trainer.hpp"

#include <algorithm>
#include <cmath>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "autotimm/distributed/sync_batch_norm.hpp"
#include "autotimm/names.hpp"
#include "autotimm/runtime.hpp"
#include "../callbacks/monitor.hpp"
#include "autotimm/trainer/precision.hpp"
#include "trainer_run.hpp"

namespace autotimm {

namespace {

std::string describe_step(const TrainingState& state) {
  return "epoch " + std::to_string(state.epoch) + ", batch " + std::to_string(state.batch_idx) + " (global step " +
         std::to_string(state.global_step) + ")";
}

/// Running sums of a loop's losses, weighted by batch size.
struct LossAverage {
  double loss = 0.0;
  std::map<std::string, double> terms;
  double samples = 0.0;
  void add(const StepOutput& out, std::int64_t batch_size) {
    const auto n = static_cast<double>(batch_size);
    loss += out.loss.detach().item<double>() * n;
    for (const auto& [name, value] : out.terms) terms[name] += value.detach().item<double>() * n;
    samples += n;
  }
  /// The sums over every rank (each rank has the same term names).
  void reduce(Collective& ranks) {
    if (ranks.world_size() == 1) return;
    std::vector<double> values{loss, samples};
    for (const auto& [name, value] : terms) values.push_back(value);
    std::vector<torch::Tensor> sums{torch::tensor(values, torch::kFloat64)};
    ranks.all_reduce_sum(sums);
    const auto reduced = sums[0].accessor<double, 1>();
    loss = reduced[0];
    samples = reduced[1];
    std::int64_t i = 2;
    for (auto& [name, value] : terms) value = reduced[i++];
  }
  std::map<std::string, double> means(const std::string& stage, const std::string& loss_name) const {
    std::map<std::string, double> out;
    if (samples == 0.0) return out;
    out[stage + "/" + loss_name] = loss / samples;
    for (const auto& [name, value] : terms) out[stage + "/" + name] = value / samples;
    return out;
  }
};

void step_scheduler(AutoTrainer::Run& run, const char* interval) {
  auto* scheduler = run.setup ? run.setup->scheduler.get() : nullptr;
  if (scheduler == nullptr || scheduler->interval() != interval || run.scheduler_suspended) return;
  if (!scheduler->needs_metric()) {
    scheduler->step();
    return;
  }
  const auto& monitor = run.setup->monitor;
  const auto it = run.state.metrics.find(monitor);
  if (it == run.state.metrics.end()) {
    throw ConfigError("scheduler '" + scheduler->name() + "' monitors '" + monitor +
                      "', which was not logged; logged: " + logged_metric_names(run.state.metrics) +
                      " (set scheduler_options.monitor)");
  }
  scheduler->step(it->second);
}

}  // namespace

// ---- options -------------------------------------------------------------------------------------------------

std::int64_t BatchLimit::of(std::int64_t available) const {
  if (count) return std::min(*count, available);
  if (fraction >= 1.0) return available;
  const auto n = static_cast<std::int64_t>(std::floor(fraction * static_cast<double>(available)));
  return fraction > 0.0 && available > 0 ? std::max<std::int64_t>(n, 1) : n;
}

boost::json::value BatchLimit::to_json() const {
  if (count) return *count;
  return fraction;
}

// ---- AutoTrainer -------------------------------------------------------------------------------------------------

AutoTrainer::AutoTrainer(AutoTrainerOptions options) : run_(std::make_unique<Run>(std::move(options))) {
  const auto& o = run_->options;
  const auto fail = [](const std::string& what) { throw ConfigError("AutoTrainer: " + what); };
  if (o.max_epochs < 1) fail("'max_epochs' must be >= 1, got " + std::to_string(o.max_epochs));
  if (o.min_epochs < 0 || o.min_epochs > o.max_epochs) fail("'min_epochs' must be in [0, max_epochs]");
  check_monitor_mode(o.checkpoint_mode, "AutoTrainer: checkpoint_mode");
  if (o.save_top_k < -1) fail("'save_top_k' must be -1 (all), 0 (none) or a count, got " + std::to_string(o.save_top_k));
  if (o.accumulate_grad_batches < 1) fail("'accumulate_grad_batches' must be >= 1");
  if (o.check_val_every_n_epoch < 1) fail("'check_val_every_n_epoch' must be >= 1");
  if (!(o.gradient_clip_val >= 0.0)) fail("'gradient_clip_val' must be >= 0");
  if (o.gradient_clip_algorithm != "norm" && o.gradient_clip_algorithm != "value") {
    fail("'gradient_clip_algorithm' must be norm or value, got '" + o.gradient_clip_algorithm + "'");
  }
  for (const auto* limit : {&o.val_check_interval, &o.limit_train_batches, &o.limit_val_batches, &o.limit_test_batches}) {
    if ((limit->count && *limit->count < 0) || (!limit->count && !(limit->fraction >= 0.0 && limit->fraction <= 1.0))) {
      fail("batch limits and val_check_interval are a fraction in [0, 1] or a count >= 0");
    }
  }
  if (o.val_check_interval.count && *o.val_check_interval.count == 0) fail("'val_check_interval' must be > 0");
  if (!o.val_check_interval.count && o.val_check_interval.fraction <= 0.0) fail("'val_check_interval' must be > 0");
  if (o.fast_dev_run < 0) fail("'fast_dev_run' must be >= 0");
  if (o.log_every_n_steps < 1) fail("'log_every_n_steps' must be >= 1");
  run_->precision = parse_precision(o.precision);
  if (o.accelerator != "auto" && o.accelerator != "cpu" && o.accelerator != "cuda" && o.accelerator != "gpu") {
    fail("'accelerator' must be auto, cpu or cuda, got '" + o.accelerator + "'");
  }
  if (o.strategy != "auto" && o.strategy != "ddp") fail("'strategy' must be auto or ddp, got '" + o.strategy + "'");
  if (o.devices < 1) fail("'devices' must be >= 1, got " + std::to_string(o.devices));
  if (o.num_nodes < 1) fail("'num_nodes' must be >= 1, got " + std::to_string(o.num_nodes));
  if (!(o.distributed_timeout_s > 0.0)) fail("'distributed_timeout_s' must be > 0");
  if (o.gradient_compression != "none" && o.gradient_compression != "fp16") {
    fail("'gradient_compression' must be none or fp16, got '" + o.gradient_compression + "'");
  }
}

AutoTrainer::~AutoTrainer() {
  for (auto& logger : run_->loggers) {
    try {
      logger->finalize(run_->failed ? RunStatus::failed : RunStatus::success);
    } catch (const std::exception& e) {
      spdlog::error("logger: {}", e.what());
    }
  }
}

const std::filesystem::path& AutoTrainer::log_dir() const noexcept { return run_->run_dir; }
const std::map<std::string, double>& AutoTrainer::logged_metrics() const noexcept { return run_->logged; }
const TrainingState& AutoTrainer::state() const noexcept { return run_->state; }
const AutoTrainerOptions& AutoTrainer::options() const noexcept { return run_->options; }

std::filesystem::path AutoTrainer::best_model_path() const {
  return run_->model_checkpoint ? run_->model_checkpoint->best_model_path() : std::filesystem::path();
}
std::optional<double> AutoTrainer::best_model_score() const {
  return run_->model_checkpoint ? run_->model_checkpoint->best_model_score() : std::nullopt;
}
std::filesystem::path AutoTrainer::last_model_path() const {
  return run_->model_checkpoint ? run_->model_checkpoint->last_model_path() : std::filesystem::path();
}

namespace {

/// One pass of evaluation (val or test) over at most `limit` batches of `loader`.
std::map<std::string, double> evaluate(AutoTrainer::Run& run, Task& task, const DataLoader& loader,
                                       std::int64_t limit, const std::string& stage, std::uint64_t epoch) {
  const bool was_training = task.is_training();
  task.eval();
  task.reset_metrics(stage);
  auto& state = run.state;
  const auto saved_batch = state.batch_idx, saved_count = state.num_batches;
  state.num_batches = limit;
  state.batch_idx = 0;
  const bool is_test = stage == "test";
  run.each_callback([&](Callback& c) { is_test ? c.on_test_start(state) : c.on_validation_start(state); });
  LossAverage average;
  auto pass = loader.epoch(epoch);
  for (std::int64_t i = 0; i < limit; ++i) {
    auto batch = pass.next();
    if (!batch) break;
    state.batch_idx = i;
    const auto out = run.evaluation_step(task, *batch, stage);
    average.add(out, batch->size());
    run.each_callback([&](Callback& c) { is_test ? c.on_test_batch_end(state) : c.on_validation_batch_end(state); });
  }
  if (const auto skipped = pass.skipped(); !skipped.empty()) {
    spdlog::warn("{}: skipped {} file(s) that could not be decoded, e.g. {}: {}", stage, skipped.size(),
                 skipped.front().what, skipped.front().reason);
  }
  task.sync_metrics(stage, run.ranks());
  average.reduce(run.ranks());
  auto metrics = task.compute_metrics(stage);
  for (auto& [name, value] : average.means(stage, "loss")) metrics[name] = value;
  state.batch_idx = saved_batch;
  state.num_batches = saved_count;
  if (was_training) task.train();
  return metrics;
}

}  // namespace

void AutoTrainer::fit(Task& task, DataModule& data, const std::filesystem::path& ckpt_path) {
  Run& run = *run_;
  if (ckpt_path.empty()) run.tune(*this, task, data);  // a resumed run keeps what it was started with
  run.prepare(task, "fit");
  auto& state = run.state;
  const auto& o = run.options;
  data.setup();
  run.shard(data);
  task.attach_data(data);
  run.place(task);
  const DataLoader train_loader = data.train_loader();
  const std::optional<DataLoader> val_loader = data.validation_loader();

  const std::int64_t dev = o.fast_dev_run;
  const std::int64_t train_batches = dev > 0 ? std::min(dev, train_loader.num_batches())
                                             : o.limit_train_batches.of(train_loader.num_batches());
  if (train_batches < 1) {
    throw ConfigError("AutoTrainer: no training batches (" + std::to_string(train_loader.num_samples()) +
                      " training samples, limit_train_batches " +
                      boost::json::serialize(o.limit_train_batches.to_json()) + ")");
  }
  const std::int64_t val_batches =
      !val_loader ? 0 : dev > 0 ? std::min(dev, val_loader->num_batches()) : o.limit_val_batches.of(val_loader->num_batches());
  if (val_batches == 0 && o.enable_checkpointing && o.save_top_k != 0 && o.checkpoint_monitor.starts_with("val/") &&
      dev == 0) {
    throw ConfigError("AutoTrainer: checkpoint_monitor is '" + o.checkpoint_monitor + "' but the data has no " +
                      "validation batches; add validation data (val_split, a val set) or set checkpoint_monitor to " +
                      "train/loss_epoch");
  }
  const std::int64_t accumulate = o.accumulate_grad_batches;
  const std::int64_t steps_per_epoch = (train_batches + accumulate - 1) / accumulate;
  const std::int64_t max_epochs = dev > 0 ? 1 : o.max_epochs;
  const std::int64_t val_every = o.val_check_interval.count ? std::min(*o.val_check_interval.count, train_batches)
                                 : std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(
                                       o.val_check_interval.fraction * static_cast<double>(train_batches))));

  OptimizerSetup setup = task.configure_optimizers(SchedulerContext{
      .total_steps = steps_per_epoch * max_epochs, .steps_per_epoch = steps_per_epoch, .max_epochs = max_epochs});
  run.setup = &setup;
  run.data = &data;
  run.train_batches = train_batches;
  if (run.precision == Precision::fp16_mixed) run.scaler = std::make_unique<GradScaler>();
  state.max_epochs = max_epochs;
  state.epoch = 0;
  state.global_step = 0;
  state.should_stop = false;
  state.stop_reason.clear();
  run.batches_done = 0;
  std::int64_t start_epoch = 0, skip_batches = 0;
  if (!ckpt_path.empty()) {
    run.restore(read_checkpoint(ckpt_path), ckpt_path);
    if (run.batches_done >= train_batches) {
      start_epoch = state.epoch + 1;
    } else {
      start_epoch = state.epoch;
      skip_batches = run.batches_done;
    }
    spdlog::info("resuming from {} at epoch {}, batch {} (global step {})", ckpt_path.string(), start_epoch,
                 skip_batches, state.global_step);
  }
  run.log_hyperparams(task, &data);
  run.start_ddp(task);
  std::optional<SyncBatchNormScope> sync_batch_norm;
  if (o.sync_batchnorm && run.group) sync_batch_norm.emplace(*run.group);

  const auto parameters = task.parameters();
  auto finish = [&](RunStatus status) {
    run.reducer.reset();
    run.scaler.reset();
    run.scheduler_suspended = false;
    run.data = nullptr;
    run.setup = nullptr;
    run.task = nullptr;
    run.finish_loggers(status);
  };
  try {
    run.each_callback([&](Callback& c) { c.on_fit_start(state); });
    if (val_batches > 0 && o.num_sanity_val_steps > 0 && dev == 0) {
      state.sanity_checking = true;
      evaluate(run, task, *val_loader, std::min<std::int64_t>(o.num_sanity_val_steps, val_batches), "val", 0);
      state.sanity_checking = false;
    }
    auto validate_now = [&](bool epoch_complete) {
      auto metrics = evaluate(run, task, *val_loader, val_batches, "val", static_cast<std::uint64_t>(state.epoch));
      metrics["epoch"] = static_cast<double>(state.epoch);
      run.log_metrics(metrics, state.global_step);
      if (epoch_complete) step_scheduler(run, "epoch");
      run.each_callback([&](Callback& c) { c.on_validation_end(state); });
      state.should_stop = run.any_rank(state.should_stop);
    };

    for (std::int64_t epoch = start_epoch; epoch < max_epochs; ++epoch) {
      state.epoch = epoch;
      state.num_batches = train_batches;
      run.batches_done = skip_batches;
      task.train();
      task.reset_metrics("train");
      run.each_callback([&](Callback& c) { c.on_train_epoch_start(state); });
      const bool validate_this_epoch = val_batches > 0 && (epoch + 1) % o.check_val_every_n_epoch == 0;
      LossAverage epoch_loss;
      auto pass = train_loader.epoch(static_cast<std::uint64_t>(epoch));
      setup.optimizer->zero_grad();
      for (std::int64_t batch_idx = 0; batch_idx < train_batches; ++batch_idx) {
        auto batch = pass.next();
        if (!batch) break;
        if (batch_idx < skip_batches) continue;  // trained before the checkpoint; same order, same samples
        state.batch_idx = batch_idx;
        const bool boundary = (batch_idx + 1) % accumulate == 0 || batch_idx + 1 == train_batches;
        // Under ddp only the step that ends an accumulation averages gradients, with rank 0's buffers (BatchNorm
        // statistics), as DistributedDataParallel does.
        const bool sync = run.reducer && boundary;
        if (sync) {
          run.reducer->arm();
          run.group->broadcast(run.buffers);
        }
        const StepOutput out =
            run.training_step(task, *batch, {.epoch = epoch, .batch_idx = batch_idx, .global_step = state.global_step});
        const double loss_value = out.loss.detach().item<double>();
        if (!std::isfinite(loss_value)) {
          const auto last = run.model_checkpoint ? run.model_checkpoint->last_model_path() : std::filesystem::path();
          throw TrainingError("the training loss is " + std::string(std::isnan(loss_value) ? "NaN" : "infinite") +
                              " at " + describe_step(state) + "; the run stopped without saving this step" +
                              (last.empty() ? std::string() : ", the last good checkpoint is " + last.string()) +
                              "; lower the learning rate, clip gradients (gradient_clip_val) or check the data");
        }
        const auto step_loss = accumulate > 1 ? out.loss / static_cast<double>(accumulate) : out.loss;
        (run.scaler ? run.scaler->scale(step_loss) : step_loss).backward();
        if (sync) run.reducer->finish();
        epoch_loss.add(out, batch->size());
        state.metrics["train/loss"] = loss_value;
        if (boundary) {
          // 16-mixed: gradients back to their true size before clipping; an overflowed step is skipped.
          const bool finite = run.scaler ? run.scaler->unscale(parameters) : true;
          if (o.gradient_clip_val > 0.0) {
            if (o.gradient_clip_algorithm == "norm") {
              torch::nn::utils::clip_grad_norm_(parameters, o.gradient_clip_val);
            } else {
              torch::nn::utils::clip_grad_value_(parameters, o.gradient_clip_val);
            }
          }
          if (finite) setup.optimizer->step();
          if (run.scaler) run.scaler->update(!finite);
          setup.optimizer->zero_grad();
          step_scheduler(run, "step");
          ++state.global_step;
          if (state.global_step % o.log_every_n_steps == 0) {
            std::map<std::string, double> step_metrics{{"train/loss", loss_value},
                                                       {"epoch", static_cast<double>(epoch)}};
            for (const auto& [name, value] : out.terms) step_metrics["train/" + name] = value.detach().item<double>();
            run.log_metrics(step_metrics, state.global_step);
          }
        }
        run.batches_done = batch_idx + 1;
        run.each_callback([&](Callback& c) { c.on_train_batch_end(state); });
        state.should_stop = run.any_rank(state.should_stop);  // every rank stops at the same batch
        if (validate_this_epoch && (batch_idx + 1) % val_every == 0 && batch_idx + 1 < train_batches &&
            !state.should_stop) {
          validate_now(false);
        }
        if (state.should_stop && epoch + 1 >= o.min_epochs) break;
      }
      skip_batches = 0;
      if (const auto skipped = pass.skipped(); !skipped.empty()) {
        spdlog::warn("epoch {}: skipped {} training file(s) that could not be decoded, e.g. {}: {}", epoch,
                     skipped.size(), skipped.front().what, skipped.front().reason);
      }
      const bool epoch_complete = run.batches_done >= train_batches;
      task.sync_metrics("train", run.ranks());
      epoch_loss.reduce(run.ranks());
      auto train_metrics = task.compute_metrics("train");
      for (auto& [name, value] : epoch_loss.means("train", "loss_epoch")) train_metrics[name] = value;
      if (!train_metrics.empty()) {
        train_metrics["epoch"] = static_cast<double>(epoch);
        run.log_metrics(train_metrics, state.global_step);
      }
      if (validate_this_epoch) {
        validate_now(epoch_complete);
      } else if (epoch_complete) {
        step_scheduler(run, "epoch");
      }
      run.each_callback([&](Callback& c) { c.on_train_epoch_end(state); });
      state.should_stop = run.any_rank(state.should_stop);
      for (auto& logger : run.loggers) logger->save();
      if (state.should_stop) {
        if (epoch + 1 >= o.min_epochs) break;
        state.should_stop = false;  // min_epochs wins over early stopping
      }
    }
    run.each_callback([&](Callback& c) { c.on_fit_end(state); });
    // The other ranks go on (test "best") only once rank 0 has written the checkpoints.
    if (run.group) run.group->barrier("the end of fit");
  } catch (const std::exception& e) {
    const std::string what = e.what();
    run.each_callback([&](Callback& c) { c.on_exception(state, what); });
    finish(RunStatus::failed);
    throw;
  }
  if (!state.stop_reason.empty()) spdlog::info("fit stopped early: {}", state.stop_reason);
  finish(RunStatus::success);
}

std::map<std::string, double> AutoTrainer::validate(Task& task, DataModule& data, const std::string& ckpt_path) {
  Run& run = *run_;
  run.prepare(task, "validate");
  data.setup();
  run.shard(data);
  task.attach_data(data);
  run.load_weights(task, ckpt_path);
  run.place(task);
  const auto loader = data.validation_loader();
  if (!loader) throw ConfigError("AutoTrainer::validate: the data has no validation set");
  const std::int64_t dev = run.options.fast_dev_run;
  const auto limit = dev > 0 ? std::min(dev, loader->num_batches()) : run.options.limit_val_batches.of(loader->num_batches());
  auto metrics = evaluate(run, task, *loader, limit, "val", 0);
  run.log_hyperparams(task, &data);
  run.log_metrics(metrics, run.state.global_step);
  run.each_callback([&](Callback& c) { c.on_validation_end(run.state); });
  run.finish_loggers(RunStatus::success);
  return metrics;
}

std::map<std::string, double> AutoTrainer::test(Task& task, DataModule& data, const std::string& ckpt_path) {
  Run& run = *run_;
  run.prepare(task, "test");
  data.setup();
  run.shard(data);
  task.attach_data(data);
  // "best" before any fit (or with checkpointing off) means the task as it is, as Lightning does with a warning.
  std::string source = ckpt_path;
  if (source == "best" && best_model_path().empty()) {
    spdlog::warn("test: no best checkpoint from a fit of this trainer; testing the model as it is");
    source.clear();
  }
  run.load_weights(task, source);
  run.place(task);
  auto loader = data.test_loader();
  if (!loader) throw ConfigError("AutoTrainer::test: the data has no test set");
  const std::int64_t dev = run.options.fast_dev_run;
  const auto limit = dev > 0 ? std::min(dev, loader->num_batches()) : run.options.limit_test_batches.of(loader->num_batches());
  run.log_hyperparams(task, &data);
  auto metrics = evaluate(run, task, *loader, limit, "test", 0);
  run.log_metrics(metrics, run.state.global_step);
  run.each_callback([&](Callback& c) { c.on_test_end(run.state); });
  run.finish_loggers(RunStatus::success);
  return metrics;
}

std::map<std::string, torch::Tensor> AutoTrainer::predict(Task& task, const DataLoader& loader,
                                                          const std::string& ckpt_path) {
  Run& run = *run_;
  run.prepare(task, "predict");
  run.load_weights(task, ckpt_path);
  run.place(task);
  const bool was_training = task.is_training();
  task.eval();
  std::map<std::string, std::vector<torch::Tensor>> parts;
  auto pass = loader.epoch(0);
  while (auto batch = pass.next()) {
    torch::NoGradGuard no_grad;
    AutocastScope autocast(run.precision, run.device);
    for (auto& [name, value] : task.predict_step(run.on_device(*batch))) {
      // Outputs leave in fp32 whatever the precision the steps ran in.
      parts[name].push_back(value.is_floating_point() ? value.to(torch::kFloat32).cpu() : value.cpu());
    }
  }
  if (was_training) task.train();
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, tensors] : parts) out[name] = torch::cat(tensors);
  return out;
}

}  // namespace autotimm
