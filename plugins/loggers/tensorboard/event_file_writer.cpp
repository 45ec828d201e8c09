#include "event_file_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "crc32c.hpp"
#include "summary.hpp"

namespace autotimm::tensorboard {

namespace fs = std::filesystem;

namespace {

// PyTorch numbers the event files a process opens from 0, so two writers in one second never share a name.
std::atomic<std::int64_t> g_file_counter{0};

std::string host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return "localhost";
  return name.data();
}

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

std::string os_error(int error) { return std::strerror(error); }

}  // namespace

std::string event_file_name(std::int64_t unix_seconds, std::string_view hostname, std::int64_t pid,
                            std::int64_t counter) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%010lld", static_cast<long long>(unix_seconds));
  return "events.out.tfevents." + std::string(seconds) + "." + std::string(hostname) + "." + std::to_string(pid) +
         "." + std::to_string(counter);
}

std::string tfrecord(std::string_view data) {
  std::string record;
  record.reserve(data.size() + 16);
  put_le(record, data.size(), 8);
  put_le(record, masked_crc32c(std::string_view(record).substr(0, 8)), 4);
  record.append(data);
  put_le(record, masked_crc32c(data), 4);
  return record;
}

EventFileWriter::EventFileWriter(const fs::path& log_dir, EventFileWriterOptions options) : options_(options) {
  const double now = wall_time_now();
  path_ = log_dir / event_file_name(static_cast<std::int64_t>(now), host_name(), ::getpid(), g_file_counter++);
  // O_EXCL: an existing file is never truncated; O_APPEND: every write lands after what is already there.
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    throw IoError("tensorboard logger: cannot create event file '" + path_.string() + "': " + os_error(errno) +
                  "; check that the folder is writable");
  }
  try {
    std::lock_guard lock(mutex_);
    pending_ = tfrecord(file_version_event(now));
    pending_records_ = 1;
    write_pending_locked();  // a file with a valid first record from the start
  } catch (...) {
    ::close(fd_);
    throw;
  }
  flusher_ = std::thread([this] { run_flusher(); });
}

EventFileWriter::~EventFileWriter() {
  try {
    close();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
  }
}

void EventFileWriter::append(std::string_view event) {
  std::lock_guard lock(mutex_);
  if (fd_ < 0) {
    throw Error("tensorboard logger: '" + path_.string() + "' is closed; nothing can be logged after finalize");
  }
  pending_ += tfrecord(event);
  if (++pending_records_ >= options_.max_queue) write_pending_locked();
}

void EventFileWriter::flush(bool sync) {
  std::lock_guard lock(mutex_);
  if (fd_ < 0) return;
  write_pending_locked();
  if (sync && ::fsync(fd_) != 0) {
    throw IoError("tensorboard logger: cannot sync '" + path_.string() + "': " + os_error(errno));
  }
}

void EventFileWriter::close() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  std::lock_guard lock(mutex_);
  if (fd_ < 0) return;
  const int fd = fd_;
  try {
    write_pending_locked();
  } catch (...) {
    fd_ = -1;
    ::close(fd);
    throw;
  }
  fd_ = -1;
  int error = ::fsync(fd) == 0 ? 0 : errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) throw IoError("tensorboard logger: cannot close '" + path_.string() + "': " + os_error(error));
}

void EventFileWriter::write_pending_locked() {
  std::size_t written = 0;
  while (written < pending_.size()) {
    const ::ssize_t n = ::write(fd_, pending_.data() + written, pending_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : EIO;
      // What reached the file stays there; only the rest is retried, so no record is written twice.
      pending_.erase(0, written);
      throw IoError("tensorboard logger: cannot write '" + path_.string() + "': " + os_error(error) +
                    "; the records stay queued and are retried on the next flush");
    }
    written += static_cast<std::size_t>(n);
  }
  pending_.clear();
  pending_records_ = 0;
}

void EventFileWriter::run_flusher() {
  // Bounded at a year so the wait's deadline cannot overflow the clock.
  const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(std::min(options_.flush_secs, 3.0e7)));
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (wake_.wait_for(lock, interval, [this] { return stopping_; })) break;
    if (fd_ < 0 || pending_.empty()) continue;
    try {
      write_pending_locked();
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
    }
  }
}

}  // namespace autotimm::tensorboard
