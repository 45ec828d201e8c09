// EMA and SWA of the weights (see autotimm/trainer/weight_averaging.hpp).
#include "autotimm/trainer/weight_averaging.hpp"

#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/state_dict.hpp"

namespace autotimm {

CallbackTensors::~CallbackTensors() = default;

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
  if (options_.kind != "ema" || state.global_step == last_step_) return;  // no optimizer step in this batch
  last_step_ = state.global_step;
  if (state.global_step <= options_.start_step) {
    torch::NoGradGuard no_grad;
    for (const auto& [key, tensor] : autotimm::state_dict(state.trainer->model())) average_.at(key).copy_(tensor);
    return;
  }
  if ((state.global_step - options_.start_step) % options_.update_every_n_steps == 0) update(state.trainer->model());
}

void WeightAveraging::on_train_epoch_end(TrainingState& state) {
  if (options_.kind != "swa") return;
  const double start = options_.swa_epoch_start < 1.0
                           ? std::floor(options_.swa_epoch_start * static_cast<double>(state.max_epochs))
                           : options_.swa_epoch_start;
  if (static_cast<double>(state.epoch) < start) return;
  update(state.trainer->model());
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
  torch::NoGradGuard no_grad;
  for (const auto& [key, tensor] : autotimm::state_dict(state.trainer->model())) tensor.copy_(average_.at(key));
}

boost::json::object WeightAveraging::state_dict() const {
  return {{"kind", options_.kind}, {"updates", updates_}, {"last_step", last_step_}};
}

void WeightAveraging::load_state_dict(const boost::json::object& state) {
  if (const auto* v = state.if_contains("updates"); v && v->is_int64()) updates_ = v->as_int64();
  if (const auto* v = state.if_contains("last_step"); v && v->is_int64()) last_step_ = v->as_int64();
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
