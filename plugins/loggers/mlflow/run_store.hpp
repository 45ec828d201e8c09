#pragma once
// RunStore: where a run's records go — an MLflow tracking server (RestStore) or a local mlruns/ folder (FileStore).
// The logger buffers records and hands them over in batches that respect the server's log-batch limits; a store
// either takes a whole batch or throws, so a batch is never half sent.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "autotimm/logger.hpp"

namespace autotimm::mlflow {

/// One metric point, parameter or run tag, in the order it was logged.
struct Record {
  enum class Kind { metric, param, tag };
  Kind kind = Kind::metric;
  std::string key = {};
  std::string text = {};   ///< param / tag value
  double value = 0.0;      ///< metric value
  std::int64_t timestamp = 0;
  std::int64_t step = 0;
};

/// log-batch limits (MLflow REST API 2.0, server-side validation).
struct BatchLimits {
  static constexpr std::size_t kMetrics = 1000;
  static constexpr std::size_t kParams = 100;
  static constexpr std::size_t kTags = 100;
  static constexpr std::size_t kEntities = 1000;
  static constexpr std::size_t kBodyBytes = 1000000;
};

struct StartRequest {
  std::string experiment_name = {};
  std::string run_name = {};
  std::string run_id = {};  ///< resume this run when set
  std::string artifact_location = {};
  std::vector<std::pair<std::string, std::string>> tags = {};  ///< user and mlflow.* tags, final form
  std::int64_t start_time = 0;
};

struct RunInfo {
  std::string experiment_id = {};
  std::string experiment_name = {};
  std::string run_id = {};
  std::string run_name = {};
  std::string artifact_uri = {};
  std::filesystem::path run_dir = {};  ///< file store only
};

/// The store could not be reached or answered "try later" (transport error, 408/429/5xx after retries): keep the
/// records and try again.
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The store refused the request for good (a 4xx other than 408/429, an unsupported artifact location): retrying
/// the same request cannot help.
class StoreRejected : public std::runtime_error {
 public:
  explicit StoreRejected(const std::string& message, long status = 0, std::string error_code = {})
      : std::runtime_error(message), status(status), error_code(std::move(error_code)) {}
  long status;             ///< the HTTP status, 0 when no server answered
  std::string error_code;  ///< MLflow's error_code ("RESOURCE_DOES_NOT_EXIST"), or empty
};

class RunStore {
 public:
  virtual ~RunStore() = default;
  /// Finds or creates the experiment, then creates the run (or resumes request.run_id).
  virtual RunInfo start(const StartRequest& request) = 0;
  /// Stores every record of `batch` (already within BatchLimits), or throws.
  virtual void log_batch(const RunInfo& run, std::span<const Record> batch) = 0;
  /// Stores `bytes` as the run artifact at `path` (relative, '/'-separated).
  virtual void put_artifact(const RunInfo& run, const std::string& path, const std::string& bytes,
                            const std::string& content_type) = 0;
  /// Marks the run ended with `status` at `end_time` (ms).
  virtual void end(const RunInfo& run, RunStatus status, std::int64_t end_time) = 0;
  /// Where the store is, for messages ("http://host:5000", "/abs/mlruns").
  virtual std::string location() const = 0;
};

/// MLflow's name for a status ("FINISHED", "FAILED", "KILLED").
std::string status_name(RunStatus status);

}  // namespace autotimm::mlflow
