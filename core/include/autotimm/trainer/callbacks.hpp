#pragma once
// The built-in callbacks, as Lightning's. AutoTrainer adds ModelCheckpoint, ModelSummary and ProgressBar itself
// (unless turned off or given); the others are added by the user or named in a config file:
//
//   autotimm::AutoTrainer trainer({.callbacks = {
//       std::make_shared<autotimm::EarlyStopping>(autotimm::EarlyStoppingOptions{.monitor = "val/accuracy",
//                                                                               .mode = "max", .patience = 3}),
//       std::make_shared<autotimm::Timer>(autotimm::TimerOptions{.duration_seconds = 600})}});
//
// Registry names: model_checkpoint, early_stopping, lr_monitor, model_summary, timer, progress_bar, and ema and swa
// (autotimm/trainer/weight_averaging.hpp).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "autotimm/callback.hpp"
#include "autotimm/config.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

class Registrar;

/// Adds the built-in callbacks to the registry's callback table (done by autotimm::registry()).
AUTOTIMM_API void register_builtin_callbacks(Registrar& registrar);

struct ModelCheckpointOptions {
  std::filesystem::path dirpath = {};   ///< empty: <run folder>/checkpoints
  std::string monitor = "val/loss";     ///< empty: no best-k, only last
  std::string mode = "min";             ///< min or max
  int save_top_k = 1;                   ///< -1: every checkpoint, 0: none
  bool save_last = true;                ///< keep last.ckpt, rewritten at every save point
  std::string filename_prefix = "best"; ///< best-epoch=3-val_loss=0.4211.ckpt
  static AUTOTIMM_API ModelCheckpointOptions from(const Config& config);
};

/// Saves at the end of every validation (or of every training epoch without one): the top-k checkpoints by the
/// monitored metric (the worst of k+1 is deleted) and last.ckpt. Epochs without validation rank only by a metric
/// that is not a val/ one. A monitored metric that was never logged is a ConfigError listing the logged ones.
class AUTOTIMM_API ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(ModelCheckpointOptions options = {});
  void on_fit_start(TrainingState& state) override;
  void on_train_epoch_start(TrainingState& state) override;
  void on_validation_end(TrainingState& state) override;
  void on_train_epoch_end(TrainingState& state) override;
  std::string state_key() const override { return "ModelCheckpoint"; }
  boost::json::object state_dict() const override;
  void load_state_dict(const boost::json::object& state) override;

  const std::filesystem::path& best_model_path() const noexcept { return best_path_; }
  std::optional<double> best_model_score() const;
  const std::filesystem::path& last_model_path() const noexcept { return last_path_; }
  /// The kept top-k files and their scores.
  const std::map<std::filesystem::path, double>& best_k_models() const noexcept { return best_k_; }
  const ModelCheckpointOptions& options() const noexcept { return options_; }

 private:
  /// Writes last.ckpt and, when `rank`, a top-k file if the monitored value earns a place.
  void save(TrainingState& state, bool rank);
  bool better(double a, double b) const;

  ModelCheckpointOptions options_;
  std::filesystem::path dir_;
  std::map<std::filesystem::path, double> best_k_;
  std::filesystem::path best_path_, last_path_;
  bool validated_this_epoch_ = false;
};

struct EarlyStoppingOptions {
  std::string monitor = "val/loss";
  std::string mode = "min";
  int patience = 3;                ///< validations without improvement before stopping
  double min_delta = 0.0;          ///< an improvement must beat the best by more than this
  bool check_finite = true;        ///< stop when the metric becomes NaN or Inf
  std::optional<double> stopping_threshold = {};   ///< stop as soon as the metric is this good
  std::optional<double> divergence_threshold = {}; ///< stop as soon as the metric is this bad
  static AUTOTIMM_API EarlyStoppingOptions from(const Config& config);
};

class AUTOTIMM_API EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  void on_validation_end(TrainingState& state) override;
  std::string state_key() const override { return "EarlyStopping"; }
  boost::json::object state_dict() const override;
  void load_state_dict(const boost::json::object& state) override;
  int wait_count() const noexcept { return wait_; }
  std::optional<double> best_score() const noexcept { return best_; }

 private:
  EarlyStoppingOptions options_;
  std::optional<double> best_;
  int wait_ = 0;
};

struct LearningRateMonitorOptions {
  std::string logging_interval = "step";  ///< step or epoch
  static AUTOTIMM_API LearningRateMonitorOptions from(const Config& config);
};

/// Logs each param group's learning rate as lr-<optimizer> (lr-<optimizer>/pg<i> for groups after the first).
class AUTOTIMM_API LearningRateMonitor : public Callback {
 public:
  explicit LearningRateMonitor(LearningRateMonitorOptions options = {});
  void on_train_batch_end(TrainingState& state) override;
  void on_train_epoch_start(TrainingState& state) override;

 private:
  void log(TrainingState& state);
  LearningRateMonitorOptions options_;
};

/// The layer table of a module (name, type, parameters) to `max_depth`, then trainable / non-trainable / total
/// parameters and their size in MB.
AUTOTIMM_API std::string model_summary(const torch::nn::Module& module, int max_depth = 1);

class AUTOTIMM_API ModelSummary : public Callback {
 public:
  explicit ModelSummary(int max_depth = 1) : max_depth_(max_depth) {}
  void on_fit_start(TrainingState& state) override;

 private:
  int max_depth_;
};

struct TimerOptions {
  double duration_seconds = 0.0;    ///< > 0: stop fit once this much training time has passed
  std::string interval = "step";    ///< check after every step or every epoch
  static AUTOTIMM_API TimerOptions from(const Config& config);
};

/// Measures fit time (kept across resumes) and stops the run when the budget is spent.
class AUTOTIMM_API Timer : public Callback {
 public:
  explicit Timer(TimerOptions options = {});
  void on_fit_start(TrainingState& state) override;
  void on_train_batch_end(TrainingState& state) override;
  void on_train_epoch_end(TrainingState& state) override;
  std::string state_key() const override { return "Timer"; }
  boost::json::object state_dict() const override;
  void load_state_dict(const boost::json::object& state) override;
  /// Seconds of fit so far, earlier runs of a resumed fit included.
  double time_elapsed() const;

 private:
  void check(TrainingState& state);
  TimerOptions options_;
  double previous_seconds_ = 0.0;
  std::optional<std::chrono::steady_clock::time_point> started_;
};

/// Progress on stderr: a bar with rate, ETA and running loss on a terminal; plain lines (about every 10% of an
/// epoch and at its end) otherwise, through the log.
class AUTOTIMM_API ProgressBar : public Callback {
 public:
  explicit ProgressBar(int refresh_rate = 1);
  void on_train_epoch_start(TrainingState& state) override;
  void on_train_batch_end(TrainingState& state) override;
  void on_train_epoch_end(TrainingState& state) override;
  void on_validation_start(TrainingState& state) override;
  void on_validation_batch_end(TrainingState& state) override;
  void on_validation_end(TrainingState& state) override;
  void on_test_start(TrainingState& state) override;
  void on_test_batch_end(TrainingState& state) override;
  void on_test_end(TrainingState& state) override;

 private:
  void show(const TrainingState& state, const std::string& label, bool final);
  int refresh_rate_;
  bool terminal_;
  std::chrono::steady_clock::time_point loop_start_;
  std::int64_t last_plain_decile_ = -1;
};

}  // namespace autotimm
