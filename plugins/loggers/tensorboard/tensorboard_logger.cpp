#include "tensorboard_logger.hpp"

#include <cmath>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "autotimm/io/atomic_file.hpp"
#include "autotimm/loggers/csv_logger.hpp"
#include "autotimm/loggers/log_dir.hpp"
#include "autotimm/model_args.hpp"
#include "event_file_writer.hpp"
#include "histogram.hpp"

namespace autotimm::tensorboard {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kWho = "tensorboard logger";

/// Lightning's _flatten_dict with "/": nested objects become "a/b"; arrays are kept as their JSON text and nulls
/// are skipped (PyTorch's hparams drops None), so every value is a number, a bool or a string.
void flatten(const boost::json::object& object, const std::string& prefix, HParams& out) {
  for (const auto& [key, value] : object) {
    const std::string name = prefix.empty() ? std::string(key) : prefix + "/" + std::string(key);
    switch (value.kind()) {
      case boost::json::kind::object: flatten(value.get_object(), name, out); break;
      case boost::json::kind::null: break;
      case boost::json::kind::bool_: out.emplace_back(name, value.get_bool()); break;
      case boost::json::kind::int64: out.emplace_back(name, static_cast<double>(value.get_int64())); break;
      case boost::json::kind::uint64: out.emplace_back(name, static_cast<double>(value.get_uint64())); break;
      case boost::json::kind::double_: out.emplace_back(name, value.get_double()); break;
      case boost::json::kind::string: out.emplace_back(name, std::string(value.get_string())); break;
      case boost::json::kind::array: out.emplace_back(name, boost::json::serialize(value)); break;
    }
  }
}

SessionStatus session_status(RunStatus status) {
  // The hparams plugin has no "killed": a run stopped before its end did not succeed.
  return status == RunStatus::success ? SessionStatus::success : SessionStatus::failure;
}

}  // namespace

TensorBoardLoggerOptions TensorBoardLoggerOptions::from(const Config& config) {
  TensorBoardLoggerOptions o;
  o.save_dir = config.require<std::string>("save_dir");
  read_arg(config, "name", o.name);
  o.version = read_log_version(config);
  read_arg(config, "prefix", o.prefix);
  read_arg(config, "flush_secs", o.flush_secs);
  read_arg(config, "max_queue", o.max_queue);
  read_arg(config, "default_hp_metric", o.default_hp_metric);
  return o;
}

TensorBoardLogger::TensorBoardLogger(TensorBoardLoggerOptions options) : options_(std::move(options)) {
  const std::string who(kWho);
  if (options_.save_dir.empty()) throw ConfigError(who + ": 'save_dir' is empty; set the folder that holds the runs");
  if (!(options_.flush_secs > 0) || !std::isfinite(options_.flush_secs)) {
    throw ConfigError(who + ": 'flush_secs' must be a positive number of seconds, got " +
                      std::to_string(options_.flush_secs));
  }
  if (options_.max_queue < 1) {
    throw ConfigError(who + ": 'max_queue' must be >= 1, got " + std::to_string(options_.max_queue));
  }
  if (const auto* s = std::get_if<std::string>(&options_.version); s != nullptr && s->empty()) {
    throw ConfigError(who + ": 'version' is an empty string; give a folder name or a number, or leave it unset");
  }
}

TensorBoardLogger::~TensorBoardLogger() {
  try {
    std::lock_guard lock(mutex_);
    if (!finalized_ && writer_) {
      if (hparams_logged_ && !experiment_written_) write_experiment_locked();
      writer_->close();
    }
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
  }
}

void TensorBoardLogger::resolve_log_dir_locked() const {
  if (!log_dir_.empty()) return;
  version_ = create_log_dir(options_.save_dir, options_.name, options_.version, kWho);
  log_dir_ = (options_.name.empty() ? options_.save_dir : options_.save_dir / options_.name) / version_;
}

fs::path TensorBoardLogger::log_dir() const {
  std::lock_guard lock(mutex_);
  resolve_log_dir_locked();
  return log_dir_;
}

std::string TensorBoardLogger::version() const {
  std::lock_guard lock(mutex_);
  resolve_log_dir_locked();
  return version_;
}

void TensorBoardLogger::append_locked(std::string_view event, std::string_view call) {
  if (finalized_) {
    throw Error(std::string(kWho) + ": " + std::string(call) + " after finalize in '" + log_dir_.string() +
                "': the run has ended; log before finalize");
  }
  if (!writer_) {
    resolve_log_dir_locked();
    writer_ = std::make_unique<EventFileWriter>(
        log_dir_, EventFileWriterOptions{.max_queue = options_.max_queue, .flush_secs = options_.flush_secs});
  }
  writer_->append(event);
}

void TensorBoardLogger::log_hyperparams(const boost::json::object& params) {
  std::lock_guard lock(mutex_);
  for (const auto& [key, value] : params) hparams_[key] = value;
  flat_hparams_.clear();
  flatten(hparams_, "", flat_hparams_);
  resolve_log_dir_locked();
  write_file_atomically(log_dir_ / "hparams.yaml", to_yaml(hparams_));
  const double now = wall_time_now();
  if (!hparams_logged_ && options_.default_hp_metric) {
    // Lightning's placeholder metric, so the HParams tab has a column before the user logs their own.
    const std::string tag = options_.prefix.empty() ? "hp_metric" : options_.prefix + "-hp_metric";
    append_locked(scalar_event(now, 0, tag, -1.0f), "log_hyperparams");
    scalar_tags_.insert(tag);
  }
  append_locked(hparams_event(now, kSessionStartTag, hparams_session_start_data(flat_hparams_, now)),
                "log_hyperparams");
  hparams_logged_ = true;
}

void TensorBoardLogger::write_experiment_locked() {
  // Written once: TensorBoard keeps the first experiment summary it reads. Waiting for the first save() lets it
  // name the metrics logged by then (train/loss, val/accuracy, ...) instead of hp_metric alone.
  const std::vector<std::string> metrics(scalar_tags_.begin(), scalar_tags_.end());
  const double now = wall_time_now();
  append_locked(hparams_event(now, kExperimentTag, hparams_experiment_data(flat_hparams_, metrics, now)), "save");
  experiment_written_ = true;
}

void TensorBoardLogger::log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) {
  std::lock_guard lock(mutex_);
  const double now = wall_time_now();
  for (const auto& [key, value] : metrics) {
    const std::string tag = options_.prefix.empty() ? key : options_.prefix + "-" + key;
    append_locked(scalar_event(now, step, tag, static_cast<float>(value)), "log_metrics");
    scalar_tags_.insert(tag);
  }
}

void TensorBoardLogger::log_image(std::string_view tag, const at::Tensor& image, std::int64_t step) {
  // Encoded outside the lock: other threads keep logging.
  const auto encoded = media::encode_png(image, "tensorboard logger: log_image '" + std::string(tag) + "'");
  const std::string event = image_event(wall_time_now(), step, tag, encoded);
  std::lock_guard lock(mutex_);
  append_locked(event, "log_image");
}

void TensorBoardLogger::log_histogram(std::string_view tag, const at::Tensor& values, std::int64_t step) {
  const HistogramData histogram = make_histogram(values);
  if (histogram.num == 0) {
    spdlog::warn("{}: log_histogram '{}' at step {}: no finite values, nothing logged", kWho, tag, step);
    return;
  }
  const std::string event = histogram_event(wall_time_now(), step, tag, histogram);
  std::lock_guard lock(mutex_);
  append_locked(event, "log_histogram");
}

void TensorBoardLogger::log_text(std::string_view tag, std::string_view text, std::int64_t step) {
  std::lock_guard lock(mutex_);
  append_locked(text_event(wall_time_now(), step, tag, text), "log_text");
}

void TensorBoardLogger::save() {
  std::lock_guard lock(mutex_);
  if (finalized_ || !writer_) return;
  if (hparams_logged_ && !experiment_written_) write_experiment_locked();
  writer_->flush(/*sync=*/true);
}

void TensorBoardLogger::finalize(RunStatus status) {
  std::lock_guard lock(mutex_);
  if (finalized_) return;
  if (writer_) {
    if (hparams_logged_) {
      if (!experiment_written_) write_experiment_locked();
      const double now = wall_time_now();
      append_locked(hparams_event(now, kSessionEndTag, hparams_session_end_data(session_status(status), now)),
                    "finalize");
    }
    writer_->close();
  }
  finalized_ = true;
}

}  // namespace autotimm::tensorboard
