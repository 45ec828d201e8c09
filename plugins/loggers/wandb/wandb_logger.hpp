#pragma once
// WandbLogger: experiment tracking in Weights & Biases, as Lightning's WandbLogger does it, speaking the client
// protocol itself (GraphQL run upsert, file_stream of history and summary, heartbeats, completion with the exit code).
//
// Every mode but disabled keeps the run's folder under <save_dir>/wandb/ with a spool of everything logged, so
// `autotimm wandb sync <folder>` can send an offline run, or finish an online one whose server was away. Online, a
// background thread streams the history at most every flush_interval_ms, sends a heartbeat when idle and retries
// with backoff while the server is away: training never waits on the network and never stops because of it.
//
//   auto logger = std::make_shared<autotimm::wandb::WandbLogger>(
//       autotimm::wandb::WandbLoggerOptions{.project = "cifar10", .mode = "offline"});
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "autotimm/logger.hpp"
#include "json_text.hpp"
#include "run_folder.hpp"
#include "wandb_api.hpp"
#include "wandb_options.hpp"

namespace autotimm::wandb {

/// Where the online stream stands (for tests and the closing message).
struct StreamCounts {
  std::size_t history_lines = 0;  ///< lines logged
  std::size_t sent_lines = 0;     ///< lines the server acknowledged
  std::size_t rejected_lines = 0; ///< lines the server refused for good
  std::size_t uploaded_files = 0;
  std::size_t failed_attempts = 0;
  bool run_created = false;
  bool completed = false;         ///< the server acknowledged the final request
};

class WandbLogger : public Logger {
 public:
  /// Resolves the options, creates the run folder and, online, creates or resumes the run. A missing or refused API
  /// key and bad options throw ConfigError; an unreachable server does not (the run is created later).
  explicit WandbLogger(WandbLoggerOptions options);
  /// Ends a run that was not finalized as killed (exit code 255), best effort, never throws.
  ~WandbLogger() override;

  /// Merged into the run's config (a later value for a key replaces the earlier one).
  void log_hyperparams(const boost::json::object& params) override;
  /// One history row: the metrics, `trainer/global_step` = step, and wandb's _step, _runtime, _timestamp.
  void log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) override;
  /// A PNG under files/media/images/, uploaded, and an image-file entry in the history.
  void log_image(std::string_view tag, const at::Tensor& image, std::int64_t step) override;
  /// A W&B histogram (64 equal bins between the finite minimum and maximum) in the history.
  void log_histogram(std::string_view tag, const at::Tensor& values, std::int64_t step) override;
  void log_text(std::string_view tag, std::string_view text, std::int64_t step) override;
  /// Flushes the spool to disk.
  void save() override;
  /// Sends what is left with the exit code (0 success, 1 failed, 255 killed) and says what could not be sent.
  void finalize(RunStatus status) override;

  /// The run folder; empty when disabled.
  std::filesystem::path log_dir() const override;
  /// The project.
  std::string name() const override;
  /// The run id.
  std::string version() const override;

  Mode mode() const noexcept { return resolved_.mode; }
  StreamCounts counts() const;

 private:
  using Clock = std::chrono::steady_clock;
  using Row = JsonMembers;  // one history row, in order

  void push_row(Row row, std::int64_t step, const char* what);
  void sender_loop();
  /// One round with the server: create or update the run, upload files, stream pending lines (all of them when
  /// `final`), or a heartbeat when nothing is pending and one is due. False when the server was unavailable.
  bool exchange(bool final, std::optional<int> exitcode);
  Clock::time_point next_wake_locked() const;
  void note_unavailable_locked(const std::string& error);
  void note_broken_locked(const std::string& error);
  std::string prefixed(std::string_view key) const;

  ResolvedOptions resolved_;
  RunAttributes attributes_;
  std::unique_ptr<RunFolder> folder_;
  std::unique_ptr<WandbApi> api_;
  const std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<RunRecord> run_;
  std::uint64_t config_version_ = 0;   // bumped per log_hyperparams
  std::uint64_t config_sent_ = 0;      // the version the server has
  std::int64_t history_base_ = 0;      // a resumed run's first line number
  std::deque<std::string> pending_;    // lines not yet acknowledged; the first is line history_base_ + sent_
  std::int64_t sent_ = 0;
  std::map<std::string, std::string> summary_;  // key → JSON text of the last value
  std::uint64_t summary_version_ = 0;
  std::uint64_t summary_sent_ = 0;
  std::vector<std::string> files_to_upload_;
  std::vector<std::string> uploaded_;           // uploaded, not yet listed in a file_stream request
  StreamCounts counts_;
  Clock::time_point last_request_ = Clock::now();
  Clock::time_point last_flush_ = Clock::now();
  Clock::time_point next_attempt_ = Clock::now();
  int failures_ = 0;
  bool outage_ = false;
  bool warned_stopped_ = false;
  std::string broken_;  // a permanent refusal: nothing more is sent
  std::string last_error_;
  bool stopping_ = false;
  bool finalized_ = false;
  bool constructing_ = true;  // refusals while creating the run are thrown, later ones only stop the stream
  std::thread sender_;  // last: joined before the members it uses go away
};

}  // namespace autotimm::wandb
