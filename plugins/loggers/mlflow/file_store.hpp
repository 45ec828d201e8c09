#pragma once
// FileStore: MLflow's mlruns/ folder layout, written so that a crash never damages what was there: meta.yaml, params,
// tags and artifacts are replaced atomically (temporary file + rename), metric points are appended one whole line
// per point. MLflow >= 3.13 opens such a folder only with MLFLOW_ALLOW_FILE_STORE=true (or after
// `mlflow migrate-filestore`).
//
//   mlruns/.trash/  mlruns/0/meta.yaml ("Default")  mlruns/<exp_id>/meta.yaml
//   mlruns/<exp_id>/<run_id>/{meta.yaml, metrics/<key>, params/<key>, tags/<key>, artifacts/...}
#include <filesystem>
#include <map>
#include <string>

#include "run_store.hpp"

namespace autotimm::mlflow {

class FileStore : public RunStore {
 public:
  explicit FileStore(std::filesystem::path root);
  RunInfo start(const StartRequest& request) override;
  void log_batch(const RunInfo& run, std::span<const Record> batch) override;
  void put_artifact(const RunInfo& run, const std::string& path, const std::string& bytes,
                    const std::string& content_type) override;
  void end(const RunInfo& run, RunStatus status, std::int64_t end_time) override;
  std::string location() const override { return root_.string(); }

 private:
  std::string find_experiment(const std::string& name) const;
  std::string create_experiment(const std::string& name, const std::string& artifact_location) const;
  void write_run_meta(const RunInfo& run) const;

  std::filesystem::path root_;
  std::map<std::string, std::string> run_meta_;  // meta.yaml's fields as written (YAML text per key)
};

/// `key: value` lines of a meta.yaml as key → plain value ('quoted' strings unquoted, null → empty).
std::map<std::string, std::string> read_meta_yaml(const std::filesystem::path& path);
/// A YAML single-quoted scalar ('' escapes a quote): safe for every string under YAML 1.1.
std::string yaml_quote(const std::string& text);
/// A random version-4 UUID as 32 lowercase hex digits (MLflow's run id).
std::string new_run_id();

}  // namespace autotimm::mlflow
