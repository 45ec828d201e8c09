#pragma once
// Replacing a file so that a crash or an error at any point leaves either the old file or the complete new one,
// never a mix: write a temporary file beside the target, flush it to disk, rename it over the target, then flush
// the directory so the rename itself survives a power cut.
//
//   autotimm::AtomicFileWriter out("checkpoints/last.ckpt");
//   out.write(header);
//   out.write(payload);
//   out.commit();   // without this, the destructor removes the temporary and the old file stays as it was
#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>

#include "autotimm/export.hpp"

namespace autotimm {

/// Writes `<target>.tmp.<pid>.<random>` in the target's directory and renames it over the target on commit().
/// Every failure is an IoError naming the file; it never touches the target. Move-only.
class AUTOTIMM_API AtomicFileWriter {
 public:
  /// Creates the temporary file (mode 0666 less the umask). The target's directory must exist.
  explicit AtomicFileWriter(std::filesystem::path target);
  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  /// Removes the temporary file unless commit() succeeded.
  ~AtomicFileWriter();

  /// Appends bytes to the temporary file.
  void write(std::span<const std::byte> bytes);
  void write(std::string_view bytes);

  /// Flushes the data to disk, renames the temporary over the target and flushes the directory. After a
  /// failure the temporary is removed and the target is unchanged; the writer cannot be used again either way.
  void commit();

  const std::filesystem::path& target_path() const noexcept { return target_; }
  const std::filesystem::path& temporary_path() const noexcept { return temporary_; }

 private:
  void discard() noexcept;

  std::filesystem::path target_;
  std::filesystem::path temporary_;
  int fd_ = -1;
};

/// Replaces (or creates) `path` with `bytes`, atomically.
AUTOTIMM_API void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

/// Appends `bytes` to `path` (created if missing) and flushes them to disk: what was there is never touched, a crash
/// can cut only the appended tail. IoError naming the file.
AUTOTIMM_API void append_to_file(const std::filesystem::path& path, std::string_view bytes);

}  // namespace autotimm
