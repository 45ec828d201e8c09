#pragma once
// MlflowLogger: experiment tracking in MLflow, as Lightning's MLFlowLogger does it, through the REST API 2.0 of a
// tracking server or into a local mlruns/ folder.
//
// A server that is slow or away never stops training: log_* calls only buffer (bounded; the oldest metric points go
// first, counted), save() sends the buffer in log-batch requests within the server's limits, and after a failure
// waits (doubling, up to a minute) before the next save() tries again. finalize() makes a last attempt, ends the
// run with FINISHED / FAILED / KILLED and says in one warning what could not be sent.
//
//   auto logger = std::make_shared<autotimm::mlflow::MlflowLogger>(
//       autotimm::mlflow::MlflowLoggerOptions{.experiment_name = "cifar10", .tracking_uri = "http://mlflow:5000"});
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "autotimm/logger.hpp"
#include "mlflow_options.hpp"
#include "run_store.hpp"

namespace autotimm::mlflow {

/// What has not reached the store yet, and what was lost on the way.
struct PendingCounts {
  std::size_t metrics = 0;
  std::size_t params = 0;
  std::size_t tags = 0;
  std::size_t artifacts = 0;
  std::size_t dropped_metrics = 0;    ///< pushed out of the full buffer
  std::size_t dropped_artifacts = 0;  ///< did not fit in the artifact buffer
  std::size_t rejected = 0;           ///< records and artifacts the store refused for good
};

class MlflowLogger : public Logger {
 public:
  /// Resolves the options (environment defaults), then finds or creates the experiment and starts the run. Bad
  /// options, refused credentials and an unknown run_id throw ConfigError; an unreachable server does not: the run
  /// is started on a later save().
  explicit MlflowLogger(MlflowLoggerOptions options);
  /// For tests and embedding: a store made elsewhere.
  MlflowLogger(ResolvedOptions options, std::unique_ptr<RunStore> store);
  /// Ends a run that was not finalized as KILLED (best effort, never throws).
  ~MlflowLogger() override;

  void log_hyperparams(const boost::json::object& params) override;
  void log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) override;
  void log_image(std::string_view tag, const at::Tensor& image, std::int64_t step) override;
  /// MLflow has no histograms: logs <tag>/min, /max, /mean and /std as metrics.
  void log_histogram(std::string_view tag, const at::Tensor& values, std::int64_t step) override;
  /// A text artifact at texts/<tag>/step_<step>.txt.
  void log_text(std::string_view tag, std::string_view text, std::int64_t step) override;
  void save() override;
  void finalize(RunStatus status) override;

  /// The run's folder in the file store (`<root>/<experiment_id>/<run_id>`); empty for a server.
  std::filesystem::path log_dir() const override;
  /// The experiment's name.
  std::string name() const override;
  /// The run id; empty while a server that was away has not created the run yet.
  std::string version() const override;

  std::string experiment_id() const;
  PendingCounts pending() const;
  StoreKind store_kind() const noexcept { return resolved_.store; }

 private:
  struct Artifact {
    std::string path;
    std::string bytes;
    std::string content_type;
  };
  void init();
  bool ensure_started_locked();
  /// Sends what is buffered; false when the store was unavailable (the rest stays buffered).
  bool flush_locked(bool final_attempt);
  void note_failure_locked(const std::string& what);
  void note_success_locked();
  void push_record_locked(Record record);
  void push_artifact_locked(Artifact artifact);
  std::string key_of_locked(std::string_view raw);
  PendingCounts pending_locked() const;

  ResolvedOptions resolved_;
  std::unique_ptr<RunStore> store_;
  mutable std::mutex mutex_;
  StartRequest start_request_;
  std::optional<RunInfo> run_;
  std::deque<Record> records_;
  std::deque<Artifact> artifacts_;
  std::size_t buffered_metrics_ = 0;
  std::size_t buffered_artifact_bytes_ = 0;
  std::map<std::string, std::string> params_logged_;  // key → value: MLflow params cannot change
  std::set<std::string> warned_keys_;
  PendingCounts lost_;
  bool outage_ = false;          // the store is away; one warning said so
  int failures_ = 0;             // consecutive failed attempts
  std::chrono::steady_clock::time_point next_attempt_{};
  std::string last_error_;
  bool finalized_ = false;
  bool warned_dropping_ = false;
};

}  // namespace autotimm::mlflow
