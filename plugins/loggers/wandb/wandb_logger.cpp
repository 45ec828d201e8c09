#include "wandb_logger.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "autotimm/error.hpp"
#include "digest/sha256.hpp"
#include "json_text.hpp"
#include "media/png_image.hpp"

namespace autotimm::wandb {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr int kHistogramBins = 64;  // wandb.Histogram's default

/// A tag as part of a media file name: letters, digits, '-', '_' and '.'; anything else becomes '_'.
std::string file_safe(std::string_view tag) {
  std::string out(tag);
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return out.empty() ? "image" : out;
}

int exit_code_of(RunStatus status) {
  switch (status) {
    case RunStatus::success:
      return 0;
    case RunStatus::failed:
      return 1;
    case RunStatus::killed:
      return 255;
  }
  return 1;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

}  // namespace

WandbLogger::WandbLogger(WandbLoggerOptions options) : resolved_(resolve(std::move(options))) {
  if (resolved_.mode == Mode::disabled) return;
  const auto& o = resolved_.options;
  attributes_ = {.entity = o.entity, .project = o.project, .run_id = o.id, .display_name = o.name, .notes = o.notes,
                 .group = o.group, .job_type = o.job_type, .host = host_name(), .tags = o.tags};
  folder_ = std::make_unique<RunFolder>(resolved_.wandb_dir, resolved_.mode == Mode::offline, attributes_);
  if (resolved_.mode == Mode::offline) {
    folder_->mark_latest();
    spdlog::info("wandb: offline run {} in {}", o.id, folder_->dir().string());
    return;
  }
  api_ = std::make_unique<WandbApi>(ApiOptions{
      .base_url = resolved_.base_url,
      .authorization = resolved_.authorization,
      .timeout_s = o.request_timeout_s,
      .retry = {.max_retries = o.max_retries, .first_backoff = std::chrono::milliseconds(o.retry_backoff_ms)}});
  // The run is created now, so a refused key or project fails at once and a resumed run's line numbers are known
  // before the first row; a server that is away only delays it.
  try {
    exchange(false, std::nullopt);
  } catch (const std::exception& error) {
    std::error_code ec;
    fs::remove_all(folder_->dir(), ec);  // nothing was logged: leave no half-made run behind
    if (dynamic_cast<const Rejected*>(&error) != nullptr) {
      throw ConfigError(std::string(error.what()) + " (creating run " + o.id + " in project " + o.project + ")");
    }
    throw;
  }
  constructing_ = false;
  folder_->mark_latest();
  sender_ = std::thread([this] { sender_loop(); });
}

WandbLogger::~WandbLogger() {
  try {
    if (!finalized_ && resolved_.mode != Mode::disabled) finalize(RunStatus::killed);
  } catch (const std::exception& error) {
    spdlog::warn("wandb: ending the run failed: {}", error.what());
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sender_.joinable()) sender_.join();
}

std::string WandbLogger::prefixed(std::string_view key) const {
  const std::string& prefix = resolved_.options.prefix;
  return prefix.empty() ? std::string(key) : prefix + "-" + std::string(key);
}

void WandbLogger::log_hyperparams(const json::object& params) {
  if (resolved_.mode == Mode::disabled) return;
  std::lock_guard lock(mutex_);
  if (finalized_) return;
  for (const auto& [key, value] : params) attributes_.config[key] = value;
  ++config_version_;
  folder_->append({{"config", attributes_.config}});
  folder_->write_config_yaml(attributes_.config);
  wake_.notify_all();
}

void WandbLogger::push_row(Row row, std::int64_t step, const char* what) {
  if (resolved_.mode == Mode::disabled) return;
  const auto now = std::chrono::system_clock::now();
  const double runtime = std::chrono::duration<double>(now - started_).count();
  const double timestamp = std::chrono::duration<double>(now.time_since_epoch()).count();
  std::lock_guard lock(mutex_);
  if (finalized_) {
    spdlog::warn("wandb: {} after finalize() is ignored", what);
    return;
  }
  row.emplace_back("trainer/global_step", std::to_string(step));
  row.emplace_back("_step", std::to_string(history_base_ + static_cast<std::int64_t>(counts_.history_lines)));
  row.emplace_back("_runtime", number_json(runtime));
  row.emplace_back("_timestamp", number_json(timestamp));
  std::string line = object_json(row);
  for (auto& [key, value] : row) summary_[key] = std::move(value);
  ++summary_version_;
  ++counts_.history_lines;
  folder_->append({{"history", line}});
  if (api_) {
    pending_.push_back(std::move(line));
    if (pending_.size() == 1) wake_.notify_all();  // the sender may be asleep until the next heartbeat
  }
}

void WandbLogger::log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) {
  Row row;
  for (const auto& [key, value] : metrics) row.emplace_back(prefixed(key), number_json(value));
  push_row(std::move(row), step, "log_metrics");
}

void WandbLogger::log_image(std::string_view tag, const at::Tensor& image, std::int64_t step) {
  if (resolved_.mode == Mode::disabled) return;
  const auto png = media::encode_png(image, "wandb: log_image '" + std::string(tag) + "'");
  const std::string sha = digest::sha256_hex(png.png);
  const std::string name =
      "media/images/" + file_safe(tag) + "_" + std::to_string(step) + "_" + sha.substr(0, 20) + ".png";
  {
    std::lock_guard lock(mutex_);
    if (finalized_) return;
    folder_->write_file(name, png.png);
    folder_->append({{"file", name}});
    if (api_) files_to_upload_.push_back(name);
  }
  const std::string entry = object_json({{"_type", string_json("image-file")},
                                         {"path", string_json(name)},
                                         {"sha256", string_json(sha)},
                                         {"size", std::to_string(png.png.size())},
                                         {"width", std::to_string(png.width)},
                                         {"height", std::to_string(png.height)},
                                         {"format", string_json("png")}});
  push_row({{prefixed(tag), entry}}, step, "log_image");
}

void WandbLogger::log_histogram(std::string_view tag, const at::Tensor& values, std::int64_t step) {
  torch::Tensor v = values.detach().cpu().to(torch::kFloat64).flatten();
  v = v.index({torch::isfinite(v)});
  if (v.numel() == 0) return;
  double low = v.min().item<double>(), high = v.max().item<double>();
  if (low == high) {  // one value: a unit-wide range around it, as numpy.histogram does
    low -= 0.5;
    high += 0.5;
  }
  const torch::Tensor counts = torch::histc(v, kHistogramBins, low, high).to(torch::kInt64).contiguous();
  std::string counts_json = "[", bins_json = "[";
  for (int i = 0; i < kHistogramBins; ++i) {
    counts_json += (i ? "," : "") + std::to_string(counts.data_ptr<std::int64_t>()[i]);
  }
  for (int i = 0; i <= kHistogramBins; ++i) {
    bins_json += (i ? "," : "") + number_json(low + (high - low) * i / kHistogramBins);
  }
  const std::string entry = object_json(
      {{"_type", string_json("histogram")}, {"values", counts_json + "]"}, {"bins", bins_json + "]"}});
  push_row({{prefixed(tag), entry}}, step, "log_histogram");
}

void WandbLogger::log_text(std::string_view tag, std::string_view text, std::int64_t step) {
  push_row({{prefixed(tag), string_json(text)}}, step, "log_text");
}

void WandbLogger::save() {
  if (resolved_.mode == Mode::disabled) return;
  std::lock_guard lock(mutex_);
  folder_->flush();
}

void WandbLogger::finalize(RunStatus status) {
  if (resolved_.mode == Mode::disabled) return;
  const int exitcode = exit_code_of(status);
  {
    std::lock_guard lock(mutex_);
    if (finalized_) return;
    finalized_ = true;
    folder_->append({{"exit", exitcode}});
    folder_->flush();
    folder_->write_summary(object_json(JsonMembers(summary_.begin(), summary_.end())));
    stopping_ = true;
  }
  wake_.notify_all();
  if (sender_.joinable()) sender_.join();
  const std::string dir = folder_->dir().string();
  if (!api_) {
    spdlog::info("wandb: offline run saved in {}; send it with `autotimm wandb sync {}`", dir, dir);
    return;
  }
  const bool done = exchange(true, exitcode);  // its requests have their quick retries
  std::lock_guard lock(mutex_);
  if (done) return;
  const std::size_t unsent = pending_.size();
  spdlog::warn("wandb: {} of {} history lines{} and the end of run {} could not be sent to {} ({}); everything is in "
               "{}: send it later with `autotimm wandb sync {}`",
               unsent, counts_.history_lines, files_to_upload_.empty() ? "" : " and " +
               std::to_string(files_to_upload_.size()) + " files", resolved_.options.id, resolved_.base_url,
               broken_.empty() ? last_error_ : broken_, dir, dir);
}

fs::path WandbLogger::log_dir() const { return folder_ ? folder_->dir() : fs::path(); }
std::string WandbLogger::name() const { return resolved_.options.project; }
std::string WandbLogger::version() const { return resolved_.options.id; }

StreamCounts WandbLogger::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

WandbLogger::Clock::time_point WandbLogger::next_wake_locked() const {
  const auto& o = resolved_.options;
  auto wake = last_request_ + std::chrono::milliseconds(o.heartbeat_interval_ms);
  const bool pending = !pending_.empty() || summary_version_ != summary_sent_ || config_version_ != config_sent_ ||
                       !files_to_upload_.empty() || !run_;
  if (pending) wake = std::min(wake, last_flush_ + std::chrono::milliseconds(o.flush_interval_ms));
  if (failures_ > 0) wake = std::max(wake, next_attempt_);
  return wake;
}

void WandbLogger::sender_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!broken_.empty()) {
      wake_.wait(lock, [&] { return stopping_; });
      break;
    }
    // Woken early by new data or a new config, the deadline is computed again: new data may bring it closer.
    wake_.wait_until(lock, next_wake_locked());
    if (stopping_) break;
    if (Clock::now() < next_wake_locked()) continue;
    lock.unlock();
    try {
      exchange(false, std::nullopt);
    } catch (const std::exception& error) {  // a thread must not throw; exchange() already said what failed
      spdlog::debug("wandb: {}", error.what());
    }
    lock.lock();
  }
}

void WandbLogger::note_unavailable_locked(const std::string& error) {
  ++failures_;
  ++counts_.failed_attempts;
  last_error_ = error;
  const auto backoff = std::min<std::int64_t>(resolved_.options.retry_backoff_ms << std::min(failures_, 20), 60000);
  next_attempt_ = Clock::now() + std::chrono::milliseconds(backoff);
  if (!outage_) {
    outage_ = true;
    spdlog::warn("{}; training goes on, the history is kept and sent when the server answers again", error);
  }
}

void WandbLogger::note_broken_locked(const std::string& error) {
  broken_ = error;
  spdlog::warn("{}; nothing more is sent to the server, the run folder {} keeps everything", error,
               folder_->dir().string());
}

bool WandbLogger::exchange(bool final, std::optional<int> exitcode) {
  std::unique_lock lock(mutex_);
  if (!broken_.empty()) return false;
  const auto& o = resolved_.options;
  try {
    // 1. The run: created once, updated when the config changed.
    if (!run_ || config_version_ != config_sent_) {
      RunAttributes attributes = attributes_;
      const std::uint64_t version = config_version_;
      const std::string storage_id = run_ ? run_->storage_id : std::string();
      lock.unlock();
      if (attributes.entity.empty()) attributes.entity = api_->default_entity();
      RunRecord record = api_->upsert_run(attributes, storage_id);
      lock.lock();
      if (!run_) {
        attributes_.entity = record.entity;
        counts_.run_created = true;
        if (record.history_line_count > 0 && counts_.history_lines == 0) {
          history_base_ = record.history_line_count;
          folder_->append({{"history_base", history_base_}});
          spdlog::info("wandb: resuming run {} after its {} history lines", record.run_id, history_base_);
        }
      }
      run_ = std::move(record);
      config_sent_ = version;
    }
    // 2. Media files.
    if (!files_to_upload_.empty()) {
      const std::vector<std::string> names = files_to_upload_;
      const RunRecord run = *run_;
      lock.unlock();
      std::vector<std::pair<std::string, std::string>> files;
      for (const auto& name : names) {
        std::ifstream in(folder_->files_dir() / name, std::ios::binary);
        files.emplace_back(name, std::string(std::istreambuf_iterator<char>(in), {}));
      }
      api_->upload_files(run.entity, run.project, run.run_id, files);
      lock.lock();
      files_to_upload_.erase(files_to_upload_.begin(), files_to_upload_.begin() + static_cast<std::ptrdiff_t>(names.size()));
      uploaded_.insert(uploaded_.end(), names.begin(), names.end());
      counts_.uploaded_files += names.size();
    }
    // 3. History, summary, uploaded names: as many requests as the lines need, or one heartbeat.
    const bool heartbeat_due =
        Clock::now() - last_request_ >= std::chrono::milliseconds(o.heartbeat_interval_ms);
    bool sent_any = false;
    while (true) {
      StreamChunk chunk{.history_offset = history_base_ + sent_};
      std::size_t bytes = 0;
      for (const auto& line : pending_) {
        if (!chunk.history.empty() && bytes + line.size() > static_cast<std::size_t>(o.max_request_bytes)) break;
        bytes += line.size();
        chunk.history.push_back(line);
      }
      const bool last_chunk = chunk.history.size() == pending_.size();
      const std::uint64_t summary_version = summary_version_;
      if (last_chunk && summary_version != summary_sent_) chunk.summary = object_json(JsonMembers(summary_.begin(), summary_.end()));
      chunk.uploaded = uploaded_;
      if (last_chunk && final) chunk.exitcode = exitcode;
      const bool empty = chunk.history.empty() && !chunk.summary && chunk.uploaded.empty() && !chunk.exitcode;
      if (empty && (sent_any || !heartbeat_due)) break;
      const RunRecord run = *run_;
      lock.unlock();
      const bool stopped = api_->file_stream(run.entity, run.project, run.run_id, file_stream_body(chunk));
      lock.lock();
      sent_any = true;
      const std::size_t count = chunk.history.size();
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(count));
      sent_ += static_cast<std::int64_t>(count);
      counts_.sent_lines += count;
      if (chunk.summary) summary_sent_ = summary_version;
      uploaded_.erase(uploaded_.begin(), uploaded_.begin() + static_cast<std::ptrdiff_t>(chunk.uploaded.size()));
      last_request_ = Clock::now();
      if (chunk.exitcode) counts_.completed = true;
      if (stopped && !warned_stopped_) {
        warned_stopped_ = true;
        spdlog::warn("wandb: run {} was stopped from the W&B page; training goes on, stop it here if you meant to",
                     run.run_id);
      }
      if (last_chunk) break;
    }
    last_flush_ = Clock::now();
    if (outage_) {
      spdlog::info("wandb: the server answers again; the held-back history was sent");
      outage_ = false;
    }
    failures_ = 0;
    return true;
  } catch (const Unavailable& error) {
    if (!lock.owns_lock()) lock.lock();
    note_unavailable_locked(error.what());
    return false;
  } catch (const Rejected& error) {
    if (!lock.owns_lock()) lock.lock();
    if (constructing_) throw;  // the run itself was refused: the constructor reports it as a ConfigError
    note_broken_locked(error.what());
    return false;
  } catch (const ConfigError& error) {
    if (!lock.owns_lock()) lock.lock();
    if (constructing_) throw;
    note_broken_locked(error.what());
    return false;
  }
}

}  // namespace autotimm::wandb
