#pragma once
// AutoTrainer: the Lightning-style loops that fit, validate, test and predict a Task on a DataModule.
//
//   autotimm::AutoTrainer trainer({.max_epochs = 5, .default_root_dir = "runs"});
//   trainer.fit(model, data);                         // checkpoints under runs/logs/version_<n>/checkpoints
//   auto metrics = trainer.test(model, data);         // the best checkpoint's test metrics
//
// Defaults follow AutoTimm: monitor val/loss (min), keep the best checkpoint, log train/…, val/…, test/… through a
// CSV logger (metrics.csv + hparams.yaml in the run folder) unless loggers are given, progress on stderr. The run
// folder, which holds checkpoints/, is the first logger's (<save_dir>/<name>/<version>, as Lightning's).
// Resuming (`fit(model, data, "…/last.ckpt")`) restores weights, optimizer, scheduler, loop counters, callback states
// and the random generator, so the run goes on exactly as if it had not stopped.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "autotimm/callback.hpp"
#include "autotimm/config.hpp"
#include "autotimm/data/data_module.hpp"
#include "autotimm/error.hpp"
#include "autotimm/export.hpp"
#include "autotimm/logger.hpp"
#include "autotimm/tasks/task.hpp"
#include "autotimm/tuner/batch_size_finder.hpp"
#include "autotimm/tuner/lr_finder.hpp"

namespace autotimm {

/// A batch limit as Lightning takes it: a fraction of the loader (0.25) or a number of batches (10).
struct BatchLimit {
  BatchLimit(double fraction = 1.0) : fraction(fraction) {}  // NOLINT(google-explicit-constructor)
  BatchLimit(int count) : count(count) {}                    // NOLINT(google-explicit-constructor)
  BatchLimit(std::int64_t count) : count(count) {}           // NOLINT(google-explicit-constructor)
  double fraction = 1.0;
  std::optional<std::int64_t> count = {};
  /// Batches out of `available`: the count (at most available) or ceil-free floor(fraction * available), >= 1 when
  /// the fraction is > 0.
  std::int64_t of(std::int64_t available) const;
  boost::json::value to_json() const;
};

struct AutoTrainerOptions {
  std::int64_t max_epochs = 10;
  std::int64_t min_epochs = 0;                  ///< early stopping cannot end the run before this
  std::string accelerator = "auto";             ///< auto, cpu, cuda
  /// auto or ddp: one process per device, gradients averaged across them (Gloo). auto means ddp when
  /// devices × num_nodes > 1, or when the process was started as a rank (RANK/WORLD_SIZE, e.g. by autotimm launch).
  std::string strategy = "auto";
  /// Processes per node. devices > 1 without RANK set: fit starts the other local processes itself (copies of this
  /// program with the same arguments) and this one becomes rank 0. Left at 1 under a launcher, the launcher's
  /// WORLD_SIZE is taken. The batch size is per process.
  int devices = 1;
  int num_nodes = 1;                            ///< hosts; each runs `autotimm launch` with its --node-rank
  /// Parameters may get no gradient in some steps (branches not taken); costs one small collective per step.
  bool find_unused_parameters = false;
  /// BatchNorm layers (autotimm::layers::BatchNorm2d, which the families build) normalise training batches with
  /// statistics over every rank, as one process with the combined batch would; two small collectives per layer.
  bool sync_batchnorm = false;
  /// none, or fp16: gradients cross the network as float16 (half the bytes; see docs/training.md).
  std::string gradient_compression = "none";
  /// How long a collective or the rendezvous may wait for the other ranks before the run fails.
  double distributed_timeout_s = 1800.0;
  /// 32 (32-true), or bf16-mixed (bf16): forward passes and losses under autocast to bfloat16, weights, gradients
  /// and optimizer state in fp32. Other names fail with the supported list.
  std::string precision = "32";
  /// Convolution weights and input images in NHWC memory layout, which oneDNN runs faster: resnet50 training
  /// 1.18x in fp32 and 2.06x with bf16-mixed on these CPUs. Checkpoints are the same either way.
  bool channels_last = false;
  std::string checkpoint_monitor = "val/loss";
  std::string checkpoint_mode = "min";          ///< min or max
  int save_top_k = 1;                           ///< -1: keep all, 0: none
  bool save_last = true;                        ///< also keep last.ckpt (what resuming uses)
  std::filesystem::path default_root_dir = "."; ///< the run folder is <root>/logs/version_<n>
  double gradient_clip_val = 0.0;               ///< 0: no clipping
  std::string gradient_clip_algorithm = "norm"; ///< norm or value
  int accumulate_grad_batches = 1;
  BatchLimit val_check_interval = 1.0;          ///< fraction of an epoch, or every n training batches
  int check_val_every_n_epoch = 1;
  BatchLimit limit_train_batches = 1.0;
  BatchLimit limit_val_batches = 1.0;
  BatchLimit limit_test_batches = 1.0;
  int fast_dev_run = 0;                         ///< n > 0: n batches of train, val and test, one epoch, no files
  int num_sanity_val_steps = 2;                 ///< validation batches run before training to catch errors early
  std::optional<std::uint64_t> seed = {};       ///< seeds torch's generator before anything else
  bool deterministic = false;                   ///< torch's deterministic algorithms
  std::vector<std::shared_ptr<Callback>> callbacks = {};
  std::vector<std::shared_ptr<Logger>> loggers = {};  ///< none here or in logger_configs: a CSV logger at
                                                      ///< default_root_dir/logs/version_<n> (unless logger = false)
  bool logger = true;
  bool enable_progress_bar = true;
  bool enable_checkpointing = true;
  bool enable_model_summary = true;
  int log_every_n_steps = 50;
  /// Tuning at the start of fit (not under fast_dev_run): the batch-size finder sets the data's batch size, then the
  /// learning-rate finder the task's learning rate. Config key "tuner_config".
  TunerConfig tuner = {};
  /// Loggers named in a config ([{"backend": "tensorboard", "params": {...}}]), built from the registry when the
  /// run starts (after `loggers`), with save_dir defaulting to default_root_dir.
  boost::json::array logger_configs = {};

  /// From a config object (the keys above; callbacks and loggers as [{"name": ..., options}] built from the
  /// registry). Unknown keys are left to the caller's expect_all_used().
  static AUTOTIMM_API AutoTrainerOptions from(const Config& config);
  /// The scalar options as JSON (hyperparameters of the run).
  AUTOTIMM_API boost::json::object to_json() const;
};

/// A trainer.loggers entry: {"backend": "tensorboard", "params": {...}} (Python AutoTimm's spelling), or the short
/// {"name": "csv", ...options} for backends without a `name` option of their own. ConfigError when malformed.
AUTOTIMM_API std::pair<std::string, boost::json::object> logger_backend_and_params(const boost::json::value& spec);

class AUTOTIMM_API AutoTrainer {
 public:
  explicit AutoTrainer(AutoTrainerOptions options = {});
  /// Ends the loggers' runs (success, or failed when a loop threw).
  ~AutoTrainer();
  AutoTrainer(const AutoTrainer&) = delete;
  AutoTrainer& operator=(const AutoTrainer&) = delete;

  /// Trains `task` on `data` for max_epochs (or until a callback stops it), validating as configured. With
  /// `ckpt_path` (a checkpoint of this task) the run resumes where the checkpoint was written.
  void fit(Task& task, DataModule& data, const std::filesystem::path& ckpt_path = {});
  /// Runs the validation loop once; the metrics keyed "val/…". `ckpt_path`: "" = the task as it is, "best", "last",
  /// or a file.
  std::map<std::string, double> validate(Task& task, DataModule& data, const std::string& ckpt_path = "");
  /// Runs the test loop once; the metrics keyed "test/…". ckpt_path as validate, "best" by default after fit.
  std::map<std::string, double> test(Task& task, DataModule& data, const std::string& ckpt_path = "best");
  /// The task's predict_step over every batch of `loader`, concatenated per output name.
  std::map<std::string, torch::Tensor> predict(Task& task, const DataLoader& loader, const std::string& ckpt_path = "");
  /// The learning-rate range test on the training data (autotimm/tuner/lr_finder.hpp), on this trainer's device and
  /// precision. Weights and buffers are restored afterwards; skipped (an empty result) under fast_dev_run.
  LrFinderResult lr_find(Task& task, DataModule& data, const LrFinderOptions& options = {});
  /// The batch-size finder (autotimm/tuner/batch_size_finder.hpp): sets `data`'s batch size to the largest that fit
  /// and returns the trials. Weights and buffers are restored; skipped (an empty result) under fast_dev_run.
  /// ConfigError when not even batch size 1 fits, or in a distributed run (tune in one process first).
  BatchSizeFinderResult scale_batch_size(Task& task, DataModule& data, const BatchSizeFinderOptions& options = {});

  /// The run folder (logs, checkpoints); empty before fit/validate/test.
  const std::filesystem::path& log_dir() const noexcept;
  /// The best checkpoint of the last fit (empty when none was saved).
  std::filesystem::path best_model_path() const;
  std::optional<double> best_model_score() const;
  std::filesystem::path last_model_path() const;
  /// Every metric logged so far, latest value each.
  const std::map<std::string, double>& logged_metrics() const noexcept;
  const TrainingState& state() const noexcept;
  const AutoTrainerOptions& options() const noexcept;

  /// The trainer's internal state (defined in core/src/trainer); named here so the loops can be free functions.
  struct Run;

 private:
  std::unique_ptr<Run> run_;
};

}  // namespace autotimm
