#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/trainer/callbacks.hpp"

namespace autotimm {

LearningRateMonitorOptions LearningRateMonitorOptions::from(const Config& config) {
  LearningRateMonitorOptions o;
  read_arg(config, "logging_interval", o.logging_interval);
  return o;
}

LearningRateMonitor::LearningRateMonitor(LearningRateMonitorOptions options) : options_(std::move(options)) {
  if (options_.logging_interval != "step" && options_.logging_interval != "epoch") {
    throw ConfigError("LearningRateMonitor: logging_interval must be step or epoch, got '" +
                      options_.logging_interval + "'");
  }
}

void LearningRateMonitor::log(TrainingState& state) {
  const auto lrs = state.trainer->learning_rates();
  if (lrs.empty()) return;
  const std::string base = "lr-" + state.trainer->optimizer_name();
  std::map<std::string, double> metrics;
  for (std::size_t g = 0; g < lrs.size(); ++g) metrics[g == 0 ? base : base + "/pg" + std::to_string(g)] = lrs[g];
  state.trainer->log_metrics(metrics, state.global_step);
}

void LearningRateMonitor::on_train_batch_end(TrainingState& state) {
  if (options_.logging_interval == "step") log(state);
}

void LearningRateMonitor::on_train_epoch_start(TrainingState& state) {
  if (options_.logging_interval == "epoch") log(state);
}

}  // namespace autotimm
