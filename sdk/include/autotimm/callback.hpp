#pragma once
// Callback: hooks the trainer calls at fixed points of fit/validate/test. A callback can read the state, ask the
// trainer to stop, and keep state of its own that checkpoints save and restore.
#include <cstdint>
#include <map>
#include <string>

#include <boost/json/object.hpp>

#include "autotimm/export.hpp"

namespace autotimm {

/// What the trainer shows its callbacks.
struct TrainingState {
  std::int64_t epoch = 0;
  std::int64_t global_step = 0;
  std::int64_t max_epochs = 0;
  std::map<std::string, double> metrics = {};  ///< latest logged values: train/loss, val/accuracy, ...
  bool should_stop = false;               ///< set by a callback to end fit after the current epoch
  bool is_global_zero = true;             ///< rank 0 in distributed runs
};

class AUTOTIMM_API Callback {
 public:
  virtual ~Callback();
  virtual void on_fit_start(TrainingState& state) {}
  virtual void on_train_epoch_start(TrainingState& state) {}
  virtual void on_train_batch_end(TrainingState& state) {}
  virtual void on_train_epoch_end(TrainingState& state) {}
  virtual void on_validation_end(TrainingState& state) {}
  virtual void on_fit_end(TrainingState& state) {}
  /// State saved into checkpoints and given back on resume.
  virtual boost::json::object state_dict() const { return {}; }
  virtual void load_state_dict(const boost::json::object& state) {}
};

}  // namespace autotimm
