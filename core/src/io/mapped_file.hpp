#pragma once
// A read-only memory mapping of a whole regular file (private to core/src/io).
#include <cstddef>
#include <filesystem>
#include <span>

namespace autotimm::detail {

/// Maps a file read-only and unmaps it on destruction. Failing to open, stat or map is an IoError naming the
/// absolute path; an empty file maps to an empty span (mmap cannot map zero bytes). Move-only.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }

 private:
  void unmap() noexcept;

  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace autotimm::detail
