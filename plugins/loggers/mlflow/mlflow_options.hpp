#pragma once
// MlflowLoggerOptions: Lightning's MLFlowLogger arguments, plus how the client buffers and retries. Environment
// variables fill what the options leave empty, as MLflow's own client does (resolve()).
//
//   autotimm::mlflow::MlflowLoggerOptions options{.experiment_name = "cifar", .tracking_uri = "http://mlflow:5000"};
#include <cstdint>
#include <filesystem>
#include <string>

#include <boost/json/object.hpp>

#include "autotimm/config.hpp"

namespace autotimm::mlflow {

/// Where the run goes: an MLflow tracking server (REST API 2.0) or a local `mlruns/` folder.
enum class StoreKind { rest, file };

struct MlflowLoggerOptions {
  std::string experiment_name = {};  ///< empty: MLFLOW_EXPERIMENT_NAME, else "lightning_logs" (Lightning's default)
  std::string run_name = {};         ///< empty: the server picks one (file store: "run-<first 8 hex of the id>")
  /// http(s)://host[:port][/prefix]: the REST server. `file:<path>` or a plain path: the file store. Empty:
  /// MLFLOW_TRACKING_URI, else the file store in save_dir. Database URIs (sqlite:, postgresql:, ...) are refused.
  std::string tracking_uri = {};
  boost::json::object tags = {};              ///< run tags; values are written as text
  std::filesystem::path save_dir = "./mlruns";  ///< the file store's root when tracking_uri is empty
  std::string prefix = {};                    ///< prepended to metric names with '-'
  bool log_model = false;                     ///< checkpoints as artifacts: not supported yet (ConfigError if true)
  std::string run_id = {};                    ///< resume this run instead of creating one; empty: MLFLOW_RUN_ID
  std::string artifact_location = {};         ///< for a newly created experiment; empty: the server's default
  // How the REST client behaves when the server is slow or away.
  int request_timeout_s = 120;           ///< connect / stall timeout; default MLFLOW_HTTP_REQUEST_TIMEOUT
  /// Quick retries of one request (429, 5xx, dropped); default MLFLOW_HTTP_REQUEST_MAX_RETRIES.
  int max_retries = 2;
  /// The first wait; it doubles per retry, and per failed save while the server is away (at most a minute).
  std::int64_t retry_backoff_ms = 500;
  std::int64_t max_buffered_metrics = 100000;        ///< beyond this the oldest metric points are dropped (and counted)
  std::int64_t max_buffered_artifact_bytes = 64 << 20;  ///< same for images and texts waiting to be uploaded

  /// Reads every key above from a logger config ({"backend": "mlflow", "params": {...}}'s params).
  static MlflowLoggerOptions from(const Config& config);
};

/// The options with environment defaults applied and checked; ConfigError naming the option otherwise.
struct ResolvedOptions {
  MlflowLoggerOptions options;
  StoreKind store = StoreKind::file;
  std::string server_uri = {};              ///< REST: tracking_uri without a trailing '/'
  std::filesystem::path file_root = {};     ///< file store: absolute root folder
  std::string authorization = {};           ///< REST: "Basic ..." / "Bearer ..." or empty
  bool insecure_tls = false;
  std::string ca_cert_path = {};
  std::string client_cert_path = {};
};

ResolvedOptions resolve(MlflowLoggerOptions options);

/// The local folder a `file:` URI names (file:/abs, file:///abs, file://localhost/abs, file:relative).
std::filesystem::path path_of_file_uri(const std::string& uri);

}  // namespace autotimm::mlflow
