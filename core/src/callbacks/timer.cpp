#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/trainer/callbacks.hpp"

namespace autotimm {

TimerOptions TimerOptions::from(const Config& config) {
  TimerOptions o;
  read_arg(config, "duration_seconds", o.duration_seconds);
  read_arg(config, "interval", o.interval);
  return o;
}

Timer::Timer(TimerOptions options) : options_(std::move(options)) {
  if (!(options_.duration_seconds >= 0.0)) throw ConfigError("Timer: duration_seconds must be >= 0");
  if (options_.interval != "step" && options_.interval != "epoch") {
    throw ConfigError("Timer: interval must be step or epoch, got '" + options_.interval + "'");
  }
}

double Timer::time_elapsed() const {
  if (!started_) return previous_seconds_;
  return previous_seconds_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - *started_).count();
}

void Timer::on_fit_start(TrainingState&) { started_ = std::chrono::steady_clock::now(); }

void Timer::check(TrainingState& state) {
  if (options_.duration_seconds <= 0.0 || time_elapsed() < options_.duration_seconds) return;
  state.should_stop = true;
  state.stop_reason = "Timer: the time budget of " + std::to_string(options_.duration_seconds) + " s is spent";
}

void Timer::on_train_batch_end(TrainingState& state) {
  if (options_.interval == "step") check(state);
}

void Timer::on_train_epoch_end(TrainingState& state) {
  if (options_.interval == "epoch") check(state);
}

boost::json::object Timer::state_dict() const { return {{"time_elapsed", time_elapsed()}}; }

void Timer::load_state_dict(const boost::json::object& state) {
  if (const auto* elapsed = state.if_contains("time_elapsed"); elapsed && elapsed->is_number()) {
    previous_seconds_ = elapsed->to_number<double>();
    if (started_) started_ = std::chrono::steady_clock::now();
  }
}

}  // namespace autotimm
