#pragma once
// TensorBoardLogger as Lightning's: event files and hparams.yaml in <save_dir>/<name>/version_<n>/, scalars,
// images, histograms, text, and the hyperparameters through the hparams plugin so TensorBoard's HParams tab shows
// the run with its metrics and its end status.
//
//   auto tb = std::make_shared<autotimm::tensorboard::TensorBoardLogger>(
//       autotimm::tensorboard::TensorBoardLoggerOptions{.save_dir = "runs", .name = "resnet18"});
//   tb->log_metrics({{"train/loss", 0.7}}, 100);   // runs/resnet18/version_0/events.out.tfevents.…
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <boost/json/object.hpp>

#include "autotimm/config.hpp"
#include "autotimm/logger.hpp"
#include "autotimm/loggers/log_dir.hpp"
#include "summary.hpp"

namespace autotimm::tensorboard {

class EventFileWriter;

struct TensorBoardLoggerOptions {
  std::filesystem::path save_dir = {};  ///< required; created when missing
  std::string name = "logs";            ///< the experiment folder under save_dir; "" puts versions in save_dir
  /// The run folder: an integer n is "version_<n>", a string is the folder name; unset: the next free version_<n>
  /// (1 + the largest present, or 0).
  LogVersion version = {};
  std::string prefix = {};              ///< metric names become "<prefix>-<name>"
  double flush_secs = 120;              ///< pending records are written at least this often
  int max_queue = 10;                   ///< pending records written once this many wait
  bool default_hp_metric = true;        ///< log_hyperparams also logs hp_metric = -1 at step 0, as Lightning does
  /// The options above by name; unknown keys are left to the caller's expect_all_used().
  static TensorBoardLoggerOptions from(const Config& config);
};

class TensorBoardLogger : public Logger {
 public:
  explicit TensorBoardLogger(TensorBoardLoggerOptions options);
  /// Writes what is pending and closes the file (no session end is recorded without finalize).
  ~TensorBoardLogger() override;

  /// Flattens nested objects with "/" and records them through the hparams plugin (session start now; the
  /// experiment, which names the metrics, on the first save() or finalize()); writes hparams.yaml.
  void log_hyperparams(const boost::json::object& params) override;
  void log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) override;
  void log_image(std::string_view tag, const at::Tensor& image, std::int64_t step) override;
  void log_histogram(std::string_view tag, const at::Tensor& values, std::int64_t step) override;
  void log_text(std::string_view tag, std::string_view text, std::int64_t step) override;
  /// Writes every pending record and syncs the file.
  void save() override;
  /// Records the hparams session end with `status` (killed counts as a failure) and closes the file.
  void finalize(RunStatus status) override;

  /// `<save_dir>/<name>/<version>`; the version folder is claimed (created) the first time it is needed.
  std::filesystem::path log_dir() const override;
  std::string name() const override { return options_.name; }
  std::string version() const override;

 private:
  void resolve_log_dir_locked() const;
  void append_locked(std::string_view event, std::string_view call);
  void write_experiment_locked();

  TensorBoardLoggerOptions options_;
  mutable std::mutex mutex_;
  mutable std::filesystem::path log_dir_;
  mutable std::string version_;
  std::unique_ptr<EventFileWriter> writer_;
  boost::json::object hparams_;       // every log_hyperparams call merged, for hparams.yaml
  HParams flat_hparams_;
  std::set<std::string> scalar_tags_;  // the experiment's metrics: every scalar logged
  bool hparams_logged_ = false;
  bool experiment_written_ = false;
  bool finalized_ = false;
};

}  // namespace autotimm::tensorboard
