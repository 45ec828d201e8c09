#include <cmath>

#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/names.hpp"
#include "autotimm/trainer/callbacks.hpp"
#include "monitor.hpp"

namespace autotimm {

EarlyStoppingOptions EarlyStoppingOptions::from(const Config& config) {
  EarlyStoppingOptions o;
  read_arg(config, "monitor", o.monitor);
  read_arg(config, "mode", o.mode);
  read_arg(config, "patience", o.patience);
  read_arg(config, "min_delta", o.min_delta);
  read_arg(config, "check_finite", o.check_finite);
  read_arg(config, "stopping_threshold", o.stopping_threshold);
  read_arg(config, "divergence_threshold", o.divergence_threshold);
  return o;
}

EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : options_(std::move(options)) {
  check_monitor_mode(options_.mode, "EarlyStopping");
  if (options_.patience < 0) throw ConfigError("EarlyStopping: patience must be >= 0");
  if (options_.min_delta < 0) throw ConfigError("EarlyStopping: min_delta must be >= 0");
}

void EarlyStopping::on_validation_end(TrainingState& state) {
  if (state.stage != "fit" || state.sanity_checking) return;
  const auto it = state.metrics.find(options_.monitor);
  if (it == state.metrics.end()) {
    throw ConfigError("EarlyStopping: the monitored metric '" + options_.monitor + "' was not logged; logged: " +
                      logged_metric_names(state.metrics));
  }
  const double value = it->second;
  const bool minimize = options_.mode == "min";
  const auto stop = [&](std::string reason) {
    state.should_stop = true;
    state.stop_reason = "EarlyStopping: " + std::move(reason);
  };
  if (options_.check_finite && !std::isfinite(value)) {
    stop(options_.monitor + " is " + std::to_string(value));
    return;
  }
  if (options_.stopping_threshold && (minimize ? value < *options_.stopping_threshold : value > *options_.stopping_threshold)) {
    stop(options_.monitor + " = " + std::to_string(value) + " reached the stopping threshold " +
         std::to_string(*options_.stopping_threshold));
    return;
  }
  if (options_.divergence_threshold &&
      (minimize ? value > *options_.divergence_threshold : value < *options_.divergence_threshold)) {
    stop(options_.monitor + " = " + std::to_string(value) + " diverged past " +
         std::to_string(*options_.divergence_threshold));
    return;
  }
  const bool improved = !best_ || (minimize ? value < *best_ - options_.min_delta : value > *best_ + options_.min_delta);
  if (improved) {
    best_ = value;
    wait_ = 0;
    return;
  }
  if (++wait_ >= options_.patience) {
    stop(options_.monitor + " did not improve for " + std::to_string(wait_) + " validations; best " +
         std::to_string(*best_));
  }
}

boost::json::object EarlyStopping::state_dict() const {
  return {{"wait_count", wait_}, {"best_score", best_ ? boost::json::value(*best_) : boost::json::value(nullptr)}};
}

void EarlyStopping::load_state_dict(const boost::json::object& state) {
  if (const auto* wait = state.if_contains("wait_count"); wait && wait->is_int64()) wait_ = static_cast<int>(wait->as_int64());
  if (const auto* best = state.if_contains("best_score"); best && best->is_number()) best_ = best->to_number<double>();
}

}  // namespace autotimm
