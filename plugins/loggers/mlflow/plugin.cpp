// The MLflow logger plugin: registers "mlflow" (REST API 2.0 tracking server, or a local mlruns/ folder).
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "mlflow_logger.hpp"

namespace autotimm::mlflow {

void register_mlflow_logger(Registrar& registrar) {
  registrar.add(LoggerEntry{
      .name = "mlflow",
      .factory = [](const Config& options) -> std::shared_ptr<Logger> {
        MlflowLoggerOptions parsed = MlflowLoggerOptions::from(options);
        options.expect_all_used();  // a misspelt option fails before a run is created on the server
        return std::make_shared<MlflowLogger>(std::move(parsed));
      },
      .description = "MLflow tracking: REST API 2.0 server or mlruns/ folder (experiment_name, run_name, "
                     "tracking_uri, tags, save_dir, prefix, log_model, run_id, artifact_location, request_timeout_s, "
                     "max_retries, retry_backoff_ms, max_buffered_metrics, max_buffered_artifact_bytes)"});
}

}  // namespace autotimm::mlflow

AUTOTIMM_PLUGIN(mlflow, {.version = "0.1.0", .license = "Apache-2.0",
                         .description = "MLflow logger: tracking server (REST API 2.0) or mlruns/ file store",
                         .origin = "https://example.org/autotimm-loggers",
                         .register_fn = &autotimm::mlflow::register_mlflow_logger})
