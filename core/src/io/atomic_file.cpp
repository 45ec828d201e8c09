#include "autotimm/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <utility>

#include "autotimm/error.hpp"

namespace autotimm {
namespace {

std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

std::string errno_text(int error) { return std::strerror(error); }

std::filesystem::path directory_of(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

// `<name>.tmp.<pid>.<random>`: the pid keeps processes apart, the random part keeps writers in one process apart,
// and the shared prefix tells a person what a leftover file (after a kill) belonged to.
std::filesystem::path temporary_name_for(const std::filesystem::path& target) {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(generator()));
  std::string name = target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." + suffix;
  return directory_of(target) / name;
}

// fsync of a directory makes a rename in it durable. Some file systems cannot sync directories; that is not a
// failure of ours.
int sync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int error = 0;
  if (::fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) error = errno;
  ::close(fd);
  return error;
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::filesystem::path target) : target_(std::filesystem::absolute(target)) {
  std::error_code ec;
  if (std::filesystem::is_directory(target_, ec)) {
    throw IoError("cannot replace file: " + quoted(target_) + ": expected a file path, got a directory; choose a " +
                  "file name inside it");
  }
  // A new file gets 0666 less the umask; a replaced one keeps its permissions.
  struct stat existing {};
  const bool replaces_file = ::stat(target_.c_str(), &existing) == 0 && S_ISREG(existing.st_mode);

  constexpr int kAttempts = 16;
  for (int attempt = 0; attempt < kAttempts && fd_ < 0; ++attempt) {
    temporary_ = temporary_name_for(target_);
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) {
      const int error = errno;
      temporary_.clear();
      throw IoError("cannot create temporary file beside " + quoted(target_) + ": expected a writable directory " +
                    quoted(directory_of(target_)) + ", got " + errno_text(error) +
                    "; create the directory or fix its permissions");
    }
  }
  if (fd_ < 0) {
    temporary_.clear();
    throw IoError("cannot create temporary file beside " + quoted(target_) + ": expected a free name after " +
                  std::to_string(kAttempts) + " attempts, got all taken; remove stale '*.tmp.*' files there");
  }
  if (replaces_file) (void)::fchmod(fd_, existing.st_mode & 07777);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : target_(std::move(other.target_)),
      temporary_(std::exchange(other.temporary_, {})),
      fd_(std::exchange(other.fd_, -1)) {}

AtomicFileWriter& AtomicFileWriter::operator=(AtomicFileWriter&& other) noexcept {
  if (this != &other) {
    discard();
    target_ = std::move(other.target_);
    temporary_ = std::exchange(other.temporary_, {});
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

AtomicFileWriter::~AtomicFileWriter() { discard(); }

void AtomicFileWriter::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
  temporary_.clear();
}

void AtomicFileWriter::write(std::span<const std::byte> bytes) {
  if (fd_ < 0) {
    throw IoError("cannot write " + quoted(target_) + ": expected an open writer, got one already committed or " +
                  "failed; create a new AtomicFileWriter");
  }
  const auto* cursor = reinterpret_cast<const char*>(bytes.data());
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t written = ::write(fd_, cursor, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      const int error = written < 0 ? errno : EIO;
      const std::filesystem::path temporary = temporary_;
      // Never let a later commit() publish a partial file.
      discard();
      throw IoError("cannot write " + quoted(temporary) + ": expected " + std::to_string(left) +
                    " more bytes to be written, got " + errno_text(error) + "; " + quoted(target_) +
                    " is unchanged, free disk space or check the file system");
    }
    cursor += written;
    left -= static_cast<std::size_t>(written);
  }
}

void AtomicFileWriter::write(std::string_view bytes) {
  write(std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
}

void AtomicFileWriter::commit() {
  if (fd_ < 0) {
    throw IoError("cannot commit " + quoted(target_) + ": expected an open writer, got one already committed or " +
                  "failed; create a new AtomicFileWriter");
  }
  const auto fail = [this](std::string_view step, int error) {
    const std::filesystem::path temporary = temporary_;
    discard();
    throw IoError("cannot replace " + quoted(target_) + ": " + std::string(step) + " of " + quoted(temporary) +
                  " failed with " + errno_text(error) + "; the previous file (if any) is unchanged");
  };
  if (::fsync(fd_) != 0) fail("fsync", errno);
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) fail("close", errno);
  if (::rename(temporary_.c_str(), target_.c_str()) != 0) fail("rename", errno);
  temporary_.clear();
  if (const int error = sync_directory(directory_of(target_)); error != 0) {
    throw IoError("cannot make the replacement of " + quoted(target_) + " durable: fsync of directory " +
                  quoted(directory_of(target_)) + " failed with " + errno_text(error) +
                  "; the new file is in place but may not survive a crash");
  }
}

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  AtomicFileWriter writer(path);
  writer.write(bytes);
  writer.commit();
}

void append_to_file(const std::filesystem::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0) throw IoError("cannot open " + quoted(path) + " to append: " + errno_text(errno));
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      throw IoError("cannot append to " + quoted(path) + ": " + errno_text(error));
    }
    written += static_cast<std::size_t>(n);
  }
  const int synced = ::fdatasync(fd);
  const int error = errno;
  ::close(fd);
  if (synced != 0) throw IoError("cannot flush " + quoted(path) + " to disk: " + errno_text(error));
}

}  // namespace autotimm
