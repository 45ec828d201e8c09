#pragma once
// An append-only TensorBoard event file: named as PyTorch names it, one TFRecord per Event, the first one
// file_version "brain.Event:2". Records wait in memory and reach the file when max_queue of them are pending, every
// flush_secs (a background thread, as PyTorch's writer has), on flush() and on close(). The file is only ever
// appended to, so a crash loses at most the records still waiting, never what was written before.
//
//   EventFileWriter writer(log_dir, {.max_queue = 10, .flush_secs = 120});
//   writer.append(scalar_event(wall_time_now(), step, "train/loss", 0.25f));
//   writer.flush(/*sync=*/true);   // on disk, fsync'ed
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace autotimm::tensorboard {

/// events.out.tfevents.<seconds, 10 digits>.<hostname>.<pid>.<counter>: TensorBoard reads a folder's files in name
/// order, so the time goes first; W&B's sync matches the hostname part.
std::string event_file_name(std::int64_t unix_seconds, std::string_view hostname, std::int64_t pid,
                            std::int64_t counter);

/// One TFRecord: uint64 length, masked CRC32C of those 8 bytes, the data, masked CRC32C of the data (little-endian).
std::string tfrecord(std::string_view data);

struct EventFileWriterOptions {
  int max_queue = 10;        ///< records held in memory before they are written
  double flush_secs = 120;   ///< pending records are written at least this often
};

class EventFileWriter {
 public:
  /// Creates a new event file in `log_dir` (which must exist) and writes its file_version record at once. IoError
  /// names the path when the file cannot be created.
  EventFileWriter(const std::filesystem::path& log_dir, EventFileWriterOptions options);
  /// Closes the file; an error is logged, not thrown.
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  /// Queues one serialized Event; writes the queue when max_queue records wait.
  void append(std::string_view event);
  /// Writes every pending record to the file; `sync` also flushes the file to disk (fsync).
  void flush(bool sync);
  /// Writes what is pending, syncs and closes; later calls do nothing.
  void close();

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  void write_pending_locked();
  void run_flusher();

  std::filesystem::path path_;
  EventFileWriterOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string pending_;
  int pending_records_ = 0;
  int fd_ = -1;
  bool stopping_ = false;
  std::thread flusher_;
};

}  // namespace autotimm::tensorboard
