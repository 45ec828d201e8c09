#include "mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "autotimm/error.hpp"

namespace autotimm::detail {
namespace {

std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a pipe";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "a special file";
}

// Closes the descriptor on every path out of the constructor; the mapping outlives it.
struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) {
  const std::string where = "'" + std::filesystem::absolute(path).lexically_normal().string() + "'";
  // O_NONBLOCK: opening a FIFO must not hang; it is refused below as not a regular file.
  const FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (file.fd < 0) {
    const int error = errno;
    throw IoError("cannot open file: " + where + ": expected a readable file, got " + std::strerror(error) +
                  "; check the path and its permissions");
  }
  struct stat status {};
  if (::fstat(file.fd, &status) != 0) {
    const int error = errno;
    throw IoError("cannot stat file: " + where + ": expected a readable file, got " + std::strerror(error) +
                  "; check the file system");
  }
  if (!S_ISREG(status.st_mode)) {
    throw IoError("cannot map file: " + where + ": expected a regular file, got " + file_kind(status.st_mode) +
                  "; pass the path of the file itself");
  }
  size_ = static_cast<std::size_t>(status.st_size);
  if (size_ == 0) return;
  void* address = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, file.fd, 0);
  if (address == MAP_FAILED) {
    const int error = errno;
    size_ = 0;
    throw IoError("cannot map file: " + where + ": expected mmap of " + std::to_string(status.st_size) +
                  " bytes to succeed, got " + std::strerror(error) + "; check free address space and the file system");
  }
  data_ = static_cast<const std::byte*>(address);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    unmap();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { unmap(); }

void MappedFile::unmap() noexcept {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace autotimm::detail
