#pragma once
// An advisory whole-file lock (flock) held for the object's lifetime: concurrent processes downloading the same
// blob take turns, and the second finds the first one's finished blob.
#include <filesystem>
#include <memory>

namespace autotimm::hf {

class FileLock {
 public:
  /// Creates the lock file (and its folders) and blocks until the lock is ours. IoError when it cannot.
  explicit FileLock(const std::filesystem::path& path);
  /// The lock when it is free now, else nullptr (another process holds it): for cleanups that must not wait.
  static std::unique_ptr<FileLock> try_acquire(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  FileLock(const std::filesystem::path& path, bool wait);
  int fd_ = -1;
};

}  // namespace autotimm::hf
