#include "file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "autotimm/error.hpp"

namespace autotimm::hf {

FileLock::FileLock(const std::filesystem::path& path) : FileLock(path, /*wait=*/true) {}

std::unique_ptr<FileLock> FileLock::try_acquire(const std::filesystem::path& path) {
  std::unique_ptr<FileLock> lock(new FileLock(path, /*wait=*/false));
  if (lock->fd_ < 0) return nullptr;
  return lock;
}

FileLock::FileLock(const std::filesystem::path& path, bool wait) {
  std::filesystem::create_directories(path.parent_path());
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    throw IoError("cannot open lock file '" + path.string() + "': " + std::strerror(errno) +
                  "; check that the hub cache folder is writable");
  }
  while (::flock(fd_, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (!wait && errno == EWOULDBLOCK) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    const int saved = errno;
    ::close(fd_);
    throw IoError("cannot lock '" + path.string() + "': " + std::strerror(saved));
  }
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace autotimm::hf
