#pragma once
// Callback: hooks the trainer calls at fixed points of fit/validate/test. A callback reads the state, may ask the
// trainer to stop, may use the trainer's handle (save a checkpoint, log, look at the model), and may keep state of
// its own that checkpoints save and restore under its state_key().
//
//   class PrintEpochs : public autotimm::Callback {
//     void on_train_epoch_end(autotimm::TrainingState& s) override { spdlog::info("epoch {} done", s.epoch); }
//   };
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "autotimm/export.hpp"

namespace torch::nn {
class Module;
}

namespace autotimm {

/// What a callback may ask of the running trainer. Valid only during the hook call that received it.
class AUTOTIMM_API TrainerHandle {
 public:
  virtual ~TrainerHandle();
  /// Writes a complete checkpoint (model, optimizer, scheduler, loop counters, callback states) to `path`,
  /// atomically. Only rank 0 writes; other ranks return without writing.
  virtual void save_checkpoint(const std::filesystem::path& path) = 0;
  /// Where the run keeps its files (`<default_root_dir>/<name>/version_<n>`).
  virtual std::filesystem::path log_dir() const = 0;
  /// Logs through every logger of the run (rank 0 only) and into TrainingState::metrics.
  virtual void log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) = 0;
  /// The task being trained.
  virtual const torch::nn::Module& model() const = 0;
  /// The optimizer's name ("adamw") and each param group's current learning rate; empty outside fit.
  virtual std::string optimizer_name() const = 0;
  virtual std::vector<double> learning_rates() const = 0;
};

/// What the trainer shows its callbacks.
struct TrainingState {
  std::string stage = "fit";              ///< fit, validate, test, predict
  std::int64_t epoch = 0;                 ///< 0-based, as Lightning counts
  std::int64_t global_step = 0;           ///< optimizer steps taken
  std::int64_t max_epochs = 0;
  std::int64_t batch_idx = 0;             ///< batch within the current loop (train, val or test)
  std::int64_t num_batches = 0;           ///< batches in the current loop
  std::map<std::string, double> metrics = {};  ///< latest logged values: train/loss, val/accuracy, ...
  bool should_stop = false;               ///< set by a callback to end fit after the current step
  std::string stop_reason = {};           ///< why, for the run summary
  bool is_global_zero = true;             ///< rank 0 in distributed runs
  bool sanity_checking = false;           ///< the short validation run before training
  TrainerHandle* trainer = nullptr;       ///< the running trainer; never null inside a hook
};

class AUTOTIMM_API Callback {
 public:
  virtual ~Callback();
  virtual void on_fit_start(TrainingState& state) {}
  virtual void on_train_epoch_start(TrainingState& state) {}
  virtual void on_train_batch_end(TrainingState& state) {}
  virtual void on_train_epoch_end(TrainingState& state) {}
  virtual void on_validation_start(TrainingState& state) {}
  virtual void on_validation_batch_end(TrainingState& state) {}
  virtual void on_validation_end(TrainingState& state) {}
  virtual void on_test_start(TrainingState& state) {}
  virtual void on_test_batch_end(TrainingState& state) {}
  virtual void on_test_end(TrainingState& state) {}
  virtual void on_fit_end(TrainingState& state) {}
  /// An exception ended the loop; the trainer rethrows it after every callback has seen it.
  virtual void on_exception(TrainingState& state, const std::string& what) {}
  /// The key of this callback's state in checkpoints; empty (the default) = no state saved.
  virtual std::string state_key() const { return {}; }
  /// State saved into checkpoints and given back on resume.
  virtual boost::json::object state_dict() const { return {}; }
  virtual void load_state_dict(const boost::json::object& state) {}
};

}  // namespace autotimm
