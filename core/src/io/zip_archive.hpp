#pragma once
// A minimal, bounded reader of ZIP archives whose entries are stored uncompressed, as torch.save writes them
// (docs/formats.md §2.1). Private to core/src/io; torch-free.
//
// Every offset and size read from the file is checked against the file before use: the end-of-central-directory
// search looks at the last 64 KiB + 22 bytes only, ZIP64 records and extra fields are honoured for large files, each
// entry's data offset comes from its LOCAL header (whose extra field torch pads for 64-byte alignment), and every
// entry's bytes must lie before the central directory. Compressed, encrypted or multi-disk archives are refused.
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace autotimm::detail {

/// One stored entry: its name and the byte range of its data in the archive.
struct ZipEntry {
  std::string name;
  std::uint64_t data_offset = 0;  // from the start of the archive
  std::uint64_t size = 0;         // stored: compressed size == uncompressed size
  std::uint32_t crc32 = 0;        // as recorded in the central directory
};

/// A validated view of a ZIP archive held in memory the caller owns (typically a MappedFile). Parsing checks the
/// whole central directory and every local header; anything wrong is a FormatError naming `source`.
class ZipArchive {
 public:
  /// `source` is the absolute path (or another name) used in messages.
  static ZipArchive parse(std::span<const std::byte> bytes, std::string source);

  const std::string& source() const noexcept { return source_; }

  /// Every entry, in central-directory order.
  const std::vector<ZipEntry>& entries() const noexcept { return entries_; }

  /// The entry called exactly `name`, or nullptr.
  const ZipEntry* find(std::string_view name) const noexcept;

  /// The stored bytes of `entry` (one of entries()); the range was validated when parsing.
  std::span<const std::byte> data(const ZipEntry& entry) const noexcept;

  /// Checks the CRC-32 of `entry`'s bytes against the central directory; a mismatch is a FormatError. A recorded
  /// CRC of 0 on non-empty data is taken as "not computed" (torch can be told to skip it) and accepted.
  void verify_crc32(const ZipEntry& entry) const;

 private:
  ZipArchive() = default;

  std::span<const std::byte> bytes_;
  std::string source_;
  std::vector<ZipEntry> entries_;
  std::map<std::string, std::size_t, std::less<>> index_by_name_;
};

/// The CRC-32 (ISO-HDLC, as ZIP uses it) of `bytes`, continuing from `crc` (0 to start).
std::uint32_t crc32(std::span<const std::byte> bytes, std::uint32_t crc = 0) noexcept;

}  // namespace autotimm::detail
