// EMA and SWA of the weights (see autotimm/trainer/weight_averaging.hpp).
#include "autotimm/trainer/weight_averaging.hpp"

#include <torch/torch.h>

#include <cmath>

#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "autotimm/layers/batch_norm.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/trainer/precision.hpp"
#include "../trainer/trainer_run.hpp"

namespace autotimm {

CallbackTensors::~CallbackTensors() = default;

namespace {

/// The trainer behind a hook, for what only AutoTrainer's fit offers (its optimizer, its data).
AutoTrainer::Run& run_of(TrainingState& state, const char* what) {
  auto* run = dynamic_cast<AutoTrainer::Run*>(state.trainer);
  if (run == nullptr) throw ConfigError(std::string("WeightAveraging (swa): ") + what + " needs AutoTrainer's fit");
  return *run;
}

}  // namespace

WeightAveragingOptions WeightAveragingOptions::from(const Config& config, const std::string& kind) {
  WeightAveragingOptions o;
  o.kind = kind;
  if (kind == "ema") {
    read_arg(config, "decay", o.decay);
    read_arg(config, "warmup", o.warmup);
    read_arg(config, "warmup_power", o.warmup_power);
    read_arg(config, "update_every_n_steps", o.update_every_n_steps);
    read_arg(config, "start_step", o.start_step);
  } else {
    read_arg(config, "swa_epoch_start", o.swa_epoch_start);
    if (auto lr = config.get_optional<double>("swa_lr")) o.swa_lr = *lr;
    read_arg(config, "annealing_epochs", o.annealing_epochs);
    read_arg(config, "annealing_strategy", o.annealing_strategy);
    read_arg(config, "update_bn", o.update_bn);
  }
  read_arg(config, "average_buffers", o.average_buffers);
  return o;
}

WeightAveraging::WeightAveraging(WeightAveragingOptions options) : options_(std::move(options)) {
  const auto fail = [&](const std::string& what) { throw ConfigError("WeightAveraging (" + options_.kind + "): " + what); };
  if (options_.kind != "ema" && options_.kind != "swa") fail("kind must be ema or swa");
  if (!(options_.decay > 0.0 && options_.decay < 1.0)) fail("decay must be in (0, 1), got " + std::to_string(options_.decay));
  if (!(options_.warmup_power > 0.0)) fail("warmup_power must be > 0");
  if (options_.update_every_n_steps < 1) fail("update_every_n_steps must be >= 1");
  if (options_.start_step < 0) fail("start_step must be >= 0");
  if (!(options_.swa_epoch_start > 0.0)) fail("swa_epoch_start must be > 0 (an epoch index >= 1 or a fraction)");
  if (options_.swa_lr && !(*options_.swa_lr > 0.0)) fail("swa_lr must be > 0");
  if (options_.annealing_epochs < 0) fail("annealing_epochs must be >= 0");
  if (options_.annealing_strategy != "cos" && options_.annealing_strategy != "linear") {
    fail("annealing_strategy must be cos or linear, got '" + options_.annealing_strategy + "'");
  }
}

double WeightAveraging::current_decay() const {
  if (!options_.warmup) return options_.decay;
  const double step = static_cast<double>(updates_);
  return std::min(options_.decay, 1.0 - std::pow(1.0 + step, -options_.warmup_power));
}

void WeightAveraging::on_fit_start(TrainingState& state) {
  if (restored_ && !average_.empty()) return;
  torch::NoGradGuard no_grad;
  average_.clear();
  for (const auto& [key, tensor] : autotimm::state_dict(state.trainer->model())) average_[key] = tensor.detach().clone();
  updates_ = 0;
  last_step_ = state.global_step;
}

void WeightAveraging::update(const torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  const bool ema = options_.kind == "ema";
  // ema: average = decay·average + (1 − decay)·weights; swa: the running mean over the updates.
  const double keep = ema ? current_decay() : static_cast<double>(updates_) / static_cast<double>(updates_ + 1);
  const auto& module_params = model.named_parameters(/*recurse=*/true);
  for (const auto& [key, tensor] : autotimm::state_dict(model)) {
    auto& avg = average_.at(key);
    const bool is_parameter = module_params.contains(key);
    if (!tensor.is_floating_point() || (!is_parameter && !options_.average_buffers)) {
      avg.copy_(tensor);
    } else {
      avg.lerp_(tensor.detach(), 1.0 - keep);
    }
  }
  ++updates_;
}

void WeightAveraging::on_train_batch_end(TrainingState& state) {
  if (options_.kind == "swa") {
    // The epoch's last training batch, before that epoch's validation and checkpoint, which then include it.
    if (state.batch_idx + 1 == state.num_batches && state.epoch >= swa_start_epoch(state.max_epochs)) {
      update(state.trainer->model());
    }
    return;
  }
  if (state.global_step == last_step_) return;  // no optimizer step in this batch
  last_step_ = state.global_step;
  if (state.global_step <= options_.start_step) {
    torch::NoGradGuard no_grad;
    for (const auto& [key, tensor] : autotimm::state_dict(state.trainer->model())) average_.at(key).copy_(tensor);
    return;
  }
  if ((state.global_step - options_.start_step) % options_.update_every_n_steps == 0) update(state.trainer->model());
}

std::int64_t WeightAveraging::swa_start_epoch(std::int64_t max_epochs) const {
  return static_cast<std::int64_t>(options_.swa_epoch_start < 1.0
                                       ? std::floor(options_.swa_epoch_start * static_cast<double>(max_epochs))
                                       : options_.swa_epoch_start);
}

void WeightAveraging::on_train_epoch_start(TrainingState& state) {
  if (options_.kind != "swa" || !options_.swa_lr) return;
  const std::int64_t start = swa_start_epoch(state.max_epochs);
  if (state.epoch < start) return;
  auto& run = run_of(state, "swa_lr");
  if (run.setup == nullptr) return;
  run.scheduler_suspended = true;  // from here the learning rate is this callback's
  auto& groups = run.setup->optimizer->param_groups();
  if (initial_lrs_.size() != groups.size()) {
    initial_lrs_.clear();
    for (auto& group : groups) initial_lrs_.push_back(group.options().get_lr());
  }
  // torch's SWALR stepped once per epoch: the first averaged epoch at the starting rate, swa_lr after the annealing.
  const double t = options_.annealing_epochs == 0
                       ? 1.0
                       : std::min(1.0, static_cast<double>(state.epoch - start) /
                                           static_cast<double>(options_.annealing_epochs));
  const double alpha = options_.annealing_strategy == "cos" ? (1.0 - std::cos(M_PI * t)) / 2.0 : t;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    groups[i].options().set_lr(*options_.swa_lr * alpha + initial_lrs_[i] * (1.0 - alpha));
  }
}

void WeightAveraging::recompute_batch_norm(TrainingState& state) {
  auto& run = run_of(state, "update_bn");
  if (run.data == nullptr || run.task == nullptr) return;
  Task& task = *run.task;
  // Cumulative averages over one pass (momentum none), from zero, as torch's update_bn.
  std::vector<std::pair<layers::BatchNorm2dImpl*, std::optional<double>>> ours;
  std::vector<std::pair<torch::nn::BatchNorm2dImpl*, c10::optional<double>>> theirs;
  std::vector<torch::Tensor> statistics;
  for (const auto& module : task.modules(/*include_self=*/false)) {
    if (auto* bn = dynamic_cast<layers::BatchNorm2dImpl*>(module.get()); bn && bn->options.track_running_stats) {
      ours.emplace_back(bn, bn->options.momentum);
      bn->reset_running_stats();
      bn->options.momentum = std::nullopt;
      statistics.insert(statistics.end(), {bn->running_mean, bn->running_var});
    } else if (auto* tbn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(module.get());
               tbn && tbn->options.track_running_stats()) {
      theirs.emplace_back(tbn, tbn->options.momentum());
      tbn->reset_running_stats();
      tbn->options.momentum(c10::nullopt);
      statistics.insert(statistics.end(), {tbn->running_mean, tbn->running_var});
    }
  }
  if (ours.empty() && theirs.empty()) return;
  const bool was_training = task.is_training();
  task.train();
  {
    torch::NoGradGuard no_grad;
    const DataLoader loader = run.data->train_loader();
    auto pass = loader.epoch(0);
    while (auto batch = pass.next()) {
      AutocastScope autocast(run.precision, run.device);
      task.evaluation_step(run.on_device(*batch), "val");  // a forward in train mode: BatchNorm uses batch statistics
    }
    if (run.group != nullptr) {
      // Each rank saw its shard: the statistics are the mean over ranks.
      run.group->all_reduce_sum(statistics);
      for (auto& s : statistics) s.div_(run.group->world_size());
    }
  }
  task.reset_metrics("val");
  task.train(was_training);
  for (auto& [bn, momentum] : ours) bn->options.momentum = momentum;
  for (auto& [tbn, momentum] : theirs) tbn->options.momentum(momentum);
  spdlog::info("swa: BatchNorm statistics of the averaged weights recomputed over the training data");
}

void WeightAveraging::swap_in(const torch::nn::Module& model) {
  if (!raw_.empty() || average_.empty()) return;
  torch::NoGradGuard no_grad;
  for (const auto& [key, tensor] : autotimm::state_dict(model)) {
    raw_[key] = tensor.detach().clone();
    tensor.copy_(average_.at(key));
  }
}

void WeightAveraging::swap_back(const torch::nn::Module& model) {
  if (raw_.empty()) return;
  torch::NoGradGuard no_grad;
  for (const auto& [key, tensor] : autotimm::state_dict(model)) tensor.copy_(raw_.at(key));
  raw_.clear();
}

void WeightAveraging::on_validation_start(TrainingState& state) {
  // swa before its first epoch averages nothing yet: validate the model as it is.
  if (options_.kind == "swa" && updates_ == 0) return;
  swap_in(state.trainer->model());
}

void WeightAveraging::on_validation_end(TrainingState& state) { swap_back(state.trainer->model()); }

void WeightAveraging::on_exception(TrainingState& state, const std::string& /*what*/) {
  swap_back(state.trainer->model());
}

void WeightAveraging::on_fit_end(TrainingState& state) {
  if (options_.kind == "swa" && updates_ == 0) return;
  // The model leaves fit with the average, as its checkpoints hold it.
  {
    torch::NoGradGuard no_grad;
    for (const auto& [key, tensor] : autotimm::state_dict(state.trainer->model())) tensor.copy_(average_.at(key));
  }
  if (options_.kind != "swa" || !options_.update_bn) return;
  recompute_batch_norm(state);
  {
    torch::NoGradGuard no_grad;
    for (const auto& [key, tensor] : autotimm::state_dict(state.trainer->model())) average_.at(key).copy_(tensor);
  }
  auto& run = run_of(state, "update_bn");
  if (run.model_checkpoint != nullptr && !run.model_checkpoint->last_model_path().empty()) {
    state.trainer->save_checkpoint(run.model_checkpoint->last_model_path());  // rank 0 writes
  }
}

boost::json::object WeightAveraging::state_dict() const {
  boost::json::array lrs;
  for (const double lr : initial_lrs_) lrs.push_back(lr);
  return {{"kind", options_.kind}, {"updates", updates_}, {"last_step", last_step_}, {"initial_lrs", lrs}};
}

void WeightAveraging::load_state_dict(const boost::json::object& state) {
  if (const auto* v = state.if_contains("updates"); v && v->is_int64()) updates_ = v->as_int64();
  if (const auto* v = state.if_contains("last_step"); v && v->is_int64()) last_step_ = v->as_int64();
  initial_lrs_.clear();
  if (const auto* v = state.if_contains("initial_lrs"); v && v->is_array()) {
    for (const auto& lr : v->as_array()) initial_lrs_.push_back(lr.to_number<double>());
  }
}

std::map<std::string, torch::Tensor> WeightAveraging::checkpoint_tensors(const torch::nn::Module& model) const {
  // The checkpoint's model weights are the average; the training weights travel here, for resuming.
  std::map<std::string, torch::Tensor> out;
  for (const auto& [key, tensor] : autotimm::state_dict(model)) out["raw." + key] = raw_.empty() ? tensor : raw_.at(key);
  return out;
}

std::map<std::string, torch::Tensor> WeightAveraging::checkpoint_model_weights(const torch::nn::Module& model) const {
  if (options_.kind == "swa" && updates_ == 0) return {};
  return average_;
}

void WeightAveraging::load_checkpoint_tensors(const std::map<std::string, torch::Tensor>& tensors,
                                              const torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  // The model was loaded with the checkpoint's weights: the average (or, before swa began, the weights themselves).
  average_.clear();
  for (const auto& [key, tensor] : autotimm::state_dict(model)) {
    average_[key] = tensor.detach().clone();
    const auto it = tensors.find("raw." + key);
    if (it == tensors.end()) {
      throw FormatError("checkpoint: the " + state_key() + " state has no raw weights for '" + key +
                        "'; it was written by another model");
    }
    tensor.copy_(it->second);
  }
  restored_ = true;
}

}  // namespace autotimm
