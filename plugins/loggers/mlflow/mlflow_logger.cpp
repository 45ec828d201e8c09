#include "mlflow_logger.hpp"

#include <pwd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "autotimm/loggers/histogram_metrics.hpp"
#include "file_store.hpp"
#include "http/http_client.hpp"
#include "media/png_image.hpp"
#include "mlflow_names.hpp"
#include "rest_store.hpp"

namespace autotimm::mlflow {

namespace fs = std::filesystem;

namespace {

std::string user_name() {
  if (const passwd* entry = ::getpwuid(::geteuid()); entry != nullptr && entry->pw_name != nullptr) {
    return entry->pw_name;
  }
  const char* user = std::getenv("USER");
  return user == nullptr ? std::string("unknown") : std::string(user);
}

std::string program_path() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.string();
}

std::unique_ptr<RunStore> make_store(const ResolvedOptions& r) {
  if (r.store == StoreKind::file) return std::make_unique<FileStore>(r.file_root);
  return std::make_unique<RestStore>(RestStoreOptions{
      .server_uri = r.server_uri,
      .authorization = r.authorization,
      .timeout_s = r.options.request_timeout_s,
      .max_retries = r.options.max_retries,
      .first_backoff = std::chrono::milliseconds(r.options.retry_backoff_ms),
      .insecure_tls = r.insecure_tls,
      .ca_cert_path = r.ca_cert_path,
      .client_cert_path = r.client_cert_path});
}

}  // namespace

MlflowLogger::MlflowLogger(MlflowLoggerOptions options) : resolved_(resolve(std::move(options))) {
  store_ = make_store(resolved_);
  init();
}

MlflowLogger::MlflowLogger(ResolvedOptions options, std::unique_ptr<RunStore> store)
    : resolved_(std::move(options)), store_(std::move(store)) {
  init();
}

void MlflowLogger::init() {
  const auto& o = resolved_.options;
  start_request_ = {.experiment_name = o.experiment_name,
                    .run_name = o.run_name,
                    .run_id = o.run_id,
                    .artifact_location = o.artifact_location,
                    .start_time = now_ms()};
  // MLflow's context tags first, the user's after (and winning), as Lightning's resolve_tags orders them.
  auto set_tag = [this](const std::string& key, std::string value) {
    value = truncate_utf8(std::move(value), kMaxTagValueLength);
    for (auto& [k, v] : start_request_.tags) {
      if (k == key) {
        v = std::move(value);
        return;
      }
    }
    start_request_.tags.emplace_back(key, std::move(value));
  };
  if (!o.run_name.empty()) set_tag("mlflow.runName", o.run_name);
  set_tag("mlflow.user", user_name());
  set_tag("mlflow.source.name", program_path());
  set_tag("mlflow.source.type", "LOCAL");
  for (const auto& [key, value] : o.tags) {
    const std::string name = sanitize_key(key);
    if (name.empty()) throw ConfigError("mlflow: option 'tags': tag name '" + std::string(key) + "' has no valid "
                                        "character; use letters, digits, '_', '-', '.', ' ' and '/'");
    set_tag(name, param_text(value));
  }
  std::lock_guard lock(mutex_);
  try {
    run_ = store_->start(start_request_);
  } catch (const StoreUnavailable& error) {
    note_failure_locked(error.what());  // training goes on; the run is created by a later save()
  } catch (const StoreRejected& error) {
    if (error.status == 401 || error.status == 403) {
      throw ConfigError("mlflow: " + store_->location() + " refused the credentials (" + error.what() +
                        "); set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN");
    }
    throw ConfigError(std::string("mlflow: cannot start a run in experiment '") + o.experiment_name + "' on " +
                      store_->location() + ": " + error.what());
  }
}

MlflowLogger::~MlflowLogger() {
  try {
    if (!finalized_) finalize(RunStatus::killed);
  } catch (const std::exception& error) {
    spdlog::error("mlflow: ending the run failed: {}", error.what());
  }
}

bool MlflowLogger::ensure_started_locked() {
  if (run_) return true;
  try {
    run_ = store_->start(start_request_);
    return true;
  } catch (const std::exception& error) {  // refusals too: the server may have been misconfigured for a while
    note_failure_locked(error.what());
    return false;
  }
}

void MlflowLogger::note_failure_locked(const std::string& what) {
  last_error_ = what;
  next_attempt_ = std::chrono::steady_clock::now() +
                  http::backoff_delay(failures_, std::chrono::milliseconds(resolved_.options.retry_backoff_ms),
                                      std::chrono::seconds(60));
  ++failures_;
  if (outage_) {
    spdlog::debug("mlflow: still cannot reach {}: {}", store_->location(), what);
    return;
  }
  outage_ = true;
  spdlog::warn("mlflow: cannot reach {}: {}; training goes on, records are kept (up to {} metric points) and sent "
               "on a later save",
               store_->location(), what, resolved_.options.max_buffered_metrics);
}

void MlflowLogger::note_success_locked() {
  if (outage_) spdlog::info("mlflow: {} is reachable again; the buffered records were sent", store_->location());
  outage_ = false;
  failures_ = 0;
}

std::string MlflowLogger::key_of_locked(std::string_view raw) {
  std::string key = sanitize_key(raw);
  if (key != raw && warned_keys_.insert(std::string(raw)).second) {
    if (key.empty()) {
      spdlog::warn("mlflow: name '{}' has no character MLflow accepts; it is not logged", raw);
    } else {
      spdlog::warn("mlflow: name '{}' logged as '{}' (MLflow accepts letters, digits, '_', '-', '.', ' ' and '/' "
                   "in normalised paths of at most {} characters)",
                   raw, key, kMaxKeyLength);
    }
  }
  return key;
}

void MlflowLogger::push_record_locked(Record record) {
  if (record.kind == Record::Kind::metric) {
    if (buffered_metrics_ >= static_cast<std::size_t>(resolved_.options.max_buffered_metrics)) {
      // Drop the oldest metric point: the newest are what a user looks at once the server is back.
      for (auto it = records_.begin(); it != records_.end(); ++it) {
        if (it->kind != Record::Kind::metric) continue;
        records_.erase(it);
        --buffered_metrics_;
        ++lost_.dropped_metrics;
        break;
      }
      if (!warned_dropping_) {
        warned_dropping_ = true;
        spdlog::warn("mlflow: the buffer holds {} metric points, the most allowed (max_buffered_metrics); dropping "
                     "the oldest until {} can be reached",
                     resolved_.options.max_buffered_metrics, store_->location());
      }
    }
    ++buffered_metrics_;
  }
  records_.push_back(std::move(record));
}

void MlflowLogger::push_artifact_locked(Artifact artifact) {
  const auto limit = static_cast<std::size_t>(resolved_.options.max_buffered_artifact_bytes);
  while (!artifacts_.empty() && buffered_artifact_bytes_ + artifact.bytes.size() > limit) {
    buffered_artifact_bytes_ -= artifacts_.front().bytes.size();
    artifacts_.pop_front();
    ++lost_.dropped_artifacts;
  }
  if (artifact.bytes.size() > limit) {
    ++lost_.dropped_artifacts;
    spdlog::warn("mlflow: artifact '{}' ({} bytes) is larger than max_buffered_artifact_bytes; not logged",
                 artifact.path, artifact.bytes.size());
    return;
  }
  buffered_artifact_bytes_ += artifact.bytes.size();
  artifacts_.push_back(std::move(artifact));
}

void MlflowLogger::log_hyperparams(const boost::json::object& params) {
  std::lock_guard lock(mutex_);
  if (finalized_) return;
  for (auto& [raw_key, raw_value] : flatten_params(params)) {
    const std::string key = key_of_locked(raw_key);
    if (key.empty()) continue;
    std::string value = truncate_utf8(std::move(raw_value), kMaxParamValueLength);
    if (const auto known = params_logged_.find(key); known != params_logged_.end()) {
      if (known->second != value) {
        spdlog::warn("mlflow: param '{}' was logged as '{}'; MLflow params cannot change, '{}' is not logged", key,
                     known->second, value);
      }
      continue;
    }
    params_logged_.emplace(key, value);
    push_record_locked({.kind = Record::Kind::param, .key = key, .text = std::move(value)});
  }
}

void MlflowLogger::log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) {
  std::lock_guard lock(mutex_);
  if (finalized_) return;
  const std::int64_t timestamp = now_ms();  // one timestamp per call, as Lightning sends them
  const std::string& prefix = resolved_.options.prefix;
  for (const auto& [name, value] : metrics) {
    const std::string key = key_of_locked(prefix.empty() ? name : prefix + "-" + name);
    if (key.empty()) continue;
    push_record_locked(
        {.kind = Record::Kind::metric, .key = key, .value = value, .timestamp = timestamp, .step = step});
  }
}

void MlflowLogger::log_image(std::string_view tag, const at::Tensor& image, std::int64_t step) {
  std::string bytes = media::encode_png(image, "mlflow: log_image '" + std::string(tag) + "'").png;
  std::lock_guard lock(mutex_);
  if (finalized_) return;
  const std::string key = key_of_locked(tag);
  if (key.empty()) return;
  push_artifact_locked({.path = "images/" + key + "/step_" + std::to_string(step) + ".png",
                        .bytes = std::move(bytes),
                        .content_type = "image/png"});
}

void MlflowLogger::log_histogram(std::string_view tag, const at::Tensor& values, std::int64_t step) {
  if (auto metrics = histogram_metrics(tag, values); !metrics.empty()) log_metrics(metrics, step);
}

void MlflowLogger::log_text(std::string_view tag, std::string_view text, std::int64_t step) {
  std::lock_guard lock(mutex_);
  if (finalized_) return;
  const std::string key = key_of_locked(tag);
  if (key.empty()) return;
  push_artifact_locked({.path = "texts/" + key + "/step_" + std::to_string(step) + ".txt",
                        .bytes = std::string(text),
                        .content_type = "text/plain; charset=utf-8"});
}

bool MlflowLogger::flush_locked(bool final_attempt) {
  if (!final_attempt && outage_ && std::chrono::steady_clock::now() < next_attempt_) return false;
  // While the server is away a save() probes once instead of retrying, so training does not wait on it.
  if (auto* rest = dynamic_cast<RestStore*>(store_.get())) {
    rest->set_max_retries(outage_ && !final_attempt ? 0 : resolved_.options.max_retries);
  }
  if (!ensure_started_locked()) return false;
  while (!records_.empty()) {
    // The longest prefix of the buffer within every log-batch limit; a repeated param key starts a new batch,
    // since the server refuses duplicates within one.
    std::size_t metrics = 0, params = 0, tags = 0, bytes = 200 + run_->run_id.size(), count = 0;
    std::set<std::string_view> param_keys;
    for (const Record& r : records_) {
      const std::size_t size = serialized_size(r);
      const bool full =
          (r.kind == Record::Kind::metric && metrics == BatchLimits::kMetrics) ||
          (r.kind == Record::Kind::param && (params == BatchLimits::kParams || param_keys.contains(r.key))) ||
          (r.kind == Record::Kind::tag && tags == BatchLimits::kTags) || count == BatchLimits::kEntities ||
          bytes + size > BatchLimits::kBodyBytes;
      if (full && count > 0) break;
      (r.kind == Record::Kind::metric ? metrics : r.kind == Record::Kind::param ? params : tags) += 1;
      if (r.kind == Record::Kind::param) param_keys.insert(r.key);
      bytes += size;
      ++count;
    }
    const std::vector<Record> batch(records_.begin(), records_.begin() + static_cast<std::ptrdiff_t>(count));
    try {
      store_->log_batch(*run_, batch);
    } catch (const StoreRejected& error) {
      lost_.rejected += count;
      spdlog::warn("mlflow: {} refused {} records ({}); they are dropped", store_->location(), count, error.what());
    } catch (const std::exception& error) {
      note_failure_locked(error.what());
      return false;
    }
    records_.erase(records_.begin(), records_.begin() + static_cast<std::ptrdiff_t>(count));
    buffered_metrics_ -= metrics;
  }
  while (!artifacts_.empty()) {
    const Artifact& artifact = artifacts_.front();
    try {
      store_->put_artifact(*run_, artifact.path, artifact.bytes, artifact.content_type);
    } catch (const StoreRejected& error) {
      ++lost_.rejected;
      spdlog::warn("mlflow: artifact '{}' not stored: {}", artifact.path, error.what());
    } catch (const std::exception& error) {
      note_failure_locked(error.what());
      return false;
    }
    buffered_artifact_bytes_ -= artifact.bytes.size();
    artifacts_.pop_front();
  }
  note_success_locked();
  return true;
}

void MlflowLogger::save() {
  std::lock_guard lock(mutex_);
  if (!finalized_) flush_locked(false);
}

void MlflowLogger::finalize(RunStatus status) {
  std::lock_guard lock(mutex_);
  if (finalized_) return;
  finalized_ = true;
  const bool sent = flush_locked(true);
  bool ended = false;
  if (run_) {
    try {
      store_->end(*run_, status, now_ms());
      ended = true;
    } catch (const std::exception& error) {
      last_error_ = error.what();
    }
  }
  const PendingCounts left = pending_locked();
  const bool lost_anything = left.metrics + left.params + left.tags + left.artifacts + left.dropped_metrics +
                                 left.dropped_artifacts + left.rejected > 0;
  if (!sent || !ended || lost_anything) {
    spdlog::warn("mlflow: run {} on {}: {} metric points, {} params, {} tags and {} artifacts could not be sent{}; "
                 "{} metric points and {} artifacts were dropped from the full buffer, {} records refused; the run {}",
                 run_ ? run_->run_id : std::string("(never created)"), store_->location(), left.metrics, left.params,
                 left.tags, left.artifacts, last_error_.empty() ? std::string() : " (" + last_error_ + ")",
                 left.dropped_metrics, left.dropped_artifacts, left.rejected,
                 ended ? "ended as " + status_name(status) : std::string("could not be marked ended"));
  }
}

PendingCounts MlflowLogger::pending_locked() const {
  PendingCounts counts = lost_;
  for (const Record& r : records_) {
    (r.kind == Record::Kind::metric  ? counts.metrics
     : r.kind == Record::Kind::param ? counts.params
                                     : counts.tags) += 1;
  }
  counts.artifacts = artifacts_.size();
  return counts;
}

PendingCounts MlflowLogger::pending() const {
  std::lock_guard lock(mutex_);
  return pending_locked();
}

fs::path MlflowLogger::log_dir() const {
  std::lock_guard lock(mutex_);
  return run_ ? run_->run_dir : fs::path();
}

std::string MlflowLogger::name() const {
  std::lock_guard lock(mutex_);
  return run_ && !run_->experiment_name.empty() ? run_->experiment_name : resolved_.options.experiment_name;
}

std::string MlflowLogger::version() const {
  std::lock_guard lock(mutex_);
  return run_ ? run_->run_id : std::string();
}

std::string MlflowLogger::experiment_id() const {
  std::lock_guard lock(mutex_);
  return run_ ? run_->experiment_id : std::string();
}

}  // namespace autotimm::mlflow
