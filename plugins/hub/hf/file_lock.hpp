#pragma once
// An advisory whole-file lock (flock) held for the object's lifetime: concurrent processes downloading the same
// blob take turns, and the second finds the first one's finished blob.
#include <filesystem>

namespace autotimm::hf {

class FileLock {
 public:
  /// Creates the lock file (and its folders) and blocks until the lock is ours. IoError when it cannot.
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace autotimm::hf
