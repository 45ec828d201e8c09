#pragma once
// The CSV logger every run gets unless told otherwise: metrics.csv and hparams.yaml in <save_dir>/<name>/<version>,
// as Lightning's CSVLogger writes them. The header holds every key ever logged, sorted, after `step` (and `epoch` when
// logged); a row per log_metrics call. save() appends the new rows, or rewrites the file atomically when a new key
// changed the header, so a crash loses at most what was logged since the last save, never the file. Texts go to
// texts.csv, images to images/<tag>-step=<n>.png; histograms add <tag>/min, /max, /mean, /std to the metrics.
//
//   auto csv = std::make_shared<autotimm::CsvLogger>(autotimm::CsvLoggerOptions{.save_dir = "runs"});
//   csv->log_dir();  // runs/logs/version_0 (the next free version)
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "autotimm/config.hpp"
#include "autotimm/export.hpp"
#include "autotimm/logger.hpp"
#include "autotimm/loggers/log_dir.hpp"

namespace autotimm {

class Registrar;

struct CsvLoggerOptions {
  std::filesystem::path save_dir = {};  ///< created when missing; from a trainer config: default_root_dir
  std::string name = "logs";            ///< the experiment folder under save_dir; "" puts versions in save_dir
  LogVersion version = {};              ///< unset: the next free version_<n>
  std::string prefix = {};              ///< metric names become "<prefix>-<name>"
  int flush_logs_every_n_steps = 100;   ///< also saved on save() and finalize()
  static AUTOTIMM_API CsvLoggerOptions from(const Config& config);
};

class AUTOTIMM_API CsvLogger : public Logger {
 public:
  explicit CsvLogger(CsvLoggerOptions options);
  ~CsvLogger() override;
  void log_hyperparams(const boost::json::object& params) override;
  void log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) override;
  void log_image(std::string_view tag, const at::Tensor& image, std::int64_t step) override;
  void log_histogram(std::string_view tag, const at::Tensor& values, std::int64_t step) override;
  void log_text(std::string_view tag, std::string_view text, std::int64_t step) override;
  void save() override;
  void finalize(RunStatus status) override;

  /// <save_dir>/<name>/<version>, created by the constructor.
  std::filesystem::path log_dir() const override { return log_dir_; }
  std::string name() const override { return options_.name; }
  std::string version() const override { return version_; }

 private:
  void write_metrics_locked();
  std::string metrics_rows_locked(std::size_t first) const;
  CsvLoggerOptions options_;
  std::string version_;
  std::filesystem::path log_dir_;
  std::mutex mutex_;
  std::vector<std::map<std::string, double>> rows_;
  std::vector<std::string> keys_;          // sorted, every key ever logged
  std::vector<std::string> keys_on_disk_;  // the header metrics.csv has now
  std::vector<std::array<std::string, 3>> texts_;
  std::int64_t rows_at_last_save_ = 0;
};

/// Registers "csv" in the registry's logger table (done by autotimm::registry()).
AUTOTIMM_API void register_builtin_loggers(Registrar& registrar);

/// YAML text of a JSON object (nested objects and arrays kept), as hparams.yaml holds it.
AUTOTIMM_API std::string to_yaml(const boost::json::object& object);

}  // namespace autotimm
