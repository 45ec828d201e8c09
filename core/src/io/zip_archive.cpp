// ZipArchive: end-of-central-directory search, ZIP64 records, central directory and local headers, every range
// checked against the archive before it is read. Layout: PKWARE APPNOTE 6.3 (§4.3); torch's use of it:
// docs/formats.md §2.1.
#include "zip_archive.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "printable_text.hpp"

#include "autotimm/error.hpp"

namespace autotimm::detail {
namespace {

constexpr std::uint32_t kLocalHeaderSignature = 0x04034b50;    // PK\3\4
constexpr std::uint32_t kCentralHeaderSignature = 0x02014b50;  // PK\1\2
constexpr std::uint32_t kEndSignature = 0x06054b50;            // PK\5\6
constexpr std::uint32_t kZip64EndSignature = 0x06064b50;       // PK\6\6
constexpr std::uint32_t kZip64LocatorSignature = 0x07064b50;   // PK\6\7

constexpr std::uint64_t kLocalHeaderSize = 30;
constexpr std::uint64_t kCentralHeaderSize = 46;
constexpr std::uint64_t kEndSize = 22;
constexpr std::uint64_t kZip64EndSize = 56;
constexpr std::uint64_t kZip64LocatorSize = 20;
constexpr std::uint64_t kMaxCommentSize = 0xffff;

constexpr std::uint16_t kZip64ExtraId = 0x0001;
constexpr std::uint16_t kFlagEncrypted = 0x0001;
constexpr std::uint16_t kMethodStored = 0;

constexpr std::string_view kRemedy = "the file is truncated or corrupt; download or save it again";

std::uint16_t u16_at(std::span<const std::byte> bytes, std::uint64_t pos) {
  return static_cast<std::uint16_t>(static_cast<unsigned>(bytes[pos]) | static_cast<unsigned>(bytes[pos + 1]) << 8);
}

std::uint32_t u32_at(std::span<const std::byte> bytes, std::uint64_t pos) {
  return static_cast<std::uint32_t>(u16_at(bytes, pos)) | static_cast<std::uint32_t>(u16_at(bytes, pos + 2)) << 16;
}

std::uint64_t u64_at(std::span<const std::byte> bytes, std::uint64_t pos) {
  return static_cast<std::uint64_t>(u32_at(bytes, pos)) | static_cast<std::uint64_t>(u32_at(bytes, pos + 4)) << 32;
}

// True when [offset, offset + length) lies inside [0, limit), computed without overflow.
bool fits(std::uint64_t offset, std::uint64_t length, std::uint64_t limit) {
  return offset <= limit && length <= limit - offset;
}

std::string method_name(std::uint16_t method) {
  switch (method) {
    case 8: return "8 (deflate)";
    case 9: return "9 (deflate64)";
    case 12: return "12 (bzip2)";
    case 14: return "14 (lzma)";
    case 93: return "93 (zstd)";
    case 95: return "95 (xz)";
    default: return std::to_string(method);
  }
}


class Parser {
 public:
  Parser(std::span<const std::byte> bytes, const std::string& source) : bytes_(bytes), source_(source) {}

  [[noreturn]] void fail(const std::string& what, const std::string& expected, const std::string& got,
                         std::string_view remedy = kRemedy) const {
    throw FormatError(what + ": '" + source_ + "': expected " + expected + ", got " + got + "; " + std::string(remedy));
  }

  // The same for one entry: "<what>: entry '<name>' in '<source>': …".
  [[noreturn]] void fail_entry(const std::string& what, std::string_view name, const std::string& expected,
                               const std::string& got, std::string_view remedy = kRemedy) const {
    throw FormatError(what + ": entry '" + printable_text(name) + "' in '" + source_ + "': expected " + expected + ", got " +
                      got + "; " + std::string(remedy));
  }

  std::vector<ZipEntry> parse() {
    const std::uint64_t size = bytes_.size();
    if (size < kEndSize) {
      fail("invalid zip archive", "at least 22 bytes (an end-of-central-directory record)",
           std::to_string(size) + " bytes");
    }
    const std::uint64_t end = find_end_record();
    read_end_record(end);
    return read_central_directory();
  }

 private:
  // The last end-of-central-directory signature whose comment fits in the file, searched only where the record can
  // be: in the last 22 + 65535 bytes.
  std::uint64_t find_end_record() const {
    const std::uint64_t size = bytes_.size();
    const std::uint64_t last = size - kEndSize;
    const std::uint64_t first = last > kMaxCommentSize ? last - kMaxCommentSize : 0;
    for (std::uint64_t pos = last + 1; pos-- > first;) {
      if (u32_at(bytes_, pos) != kEndSignature) continue;
      if (pos + kEndSize + u16_at(bytes_, pos + 20) <= size) return pos;
    }
    fail("zip end-of-central-directory record not found",
         "the signature PK\\x05\\x06 within the last " + std::to_string(kEndSize + kMaxCommentSize) + " bytes",
         "none in " + std::to_string(size) + " bytes",
         "the file is truncated (an interrupted download?) or not a zip archive; download or save it again");
  }

  void read_end_record(std::uint64_t end) {
    const std::uint16_t disk = u16_at(bytes_, end + 4);
    const std::uint16_t directory_disk = u16_at(bytes_, end + 6);
    const std::uint16_t entries_on_disk = u16_at(bytes_, end + 8);
    entry_count_ = u16_at(bytes_, end + 10);
    directory_size_ = u32_at(bytes_, end + 12);
    directory_offset_ = u32_at(bytes_, end + 16);
    directory_limit_ = end;
    const bool needs_zip64 = entry_count_ == 0xffff || directory_size_ == 0xffffffff || directory_offset_ == 0xffffffff;
    const bool has_locator = end >= kZip64LocatorSize && u32_at(bytes_, end - kZip64LocatorSize) == kZip64LocatorSignature;
    if (has_locator) {
      read_zip64_end_record(end - kZip64LocatorSize);
      return;
    }
    if (needs_zip64) {
      fail("zip64 locator missing", "a ZIP64 end-of-central-directory locator before the end record (its fields "
           "are saturated at 0xffff/0xffffffff)", "none");
    }
    if (disk != 0 || directory_disk != 0 || entries_on_disk != entry_count_) {
      fail("unsupported multi-disk zip archive", "a single-file archive (disk 0)",
           "disk " + std::to_string(disk) + " with the central directory on disk " + std::to_string(directory_disk),
           "join the parts into one archive first");
    }
  }

  void read_zip64_end_record(std::uint64_t locator) {
    const std::uint32_t record_disk = u32_at(bytes_, locator + 4);
    const std::uint64_t record = u64_at(bytes_, locator + 8);
    const std::uint32_t disks = u32_at(bytes_, locator + 16);
    if (record_disk != 0 || disks > 1) {
      fail("unsupported multi-disk zip archive", "a single-file archive (disk 0)",
           std::to_string(disks) + " disks", "join the parts into one archive first");
    }
    if (!fits(record, kZip64EndSize, locator)) {
      fail("invalid zip64 end-of-central-directory locator",
           "a record offset at most " + std::to_string(locator >= kZip64EndSize ? locator - kZip64EndSize : 0),
           std::to_string(record));
    }
    if (u32_at(bytes_, record) != kZip64EndSignature) {
      fail("invalid zip64 end-of-central-directory record",
           "the signature PK\\x06\\x06 at byte " + std::to_string(record), "other bytes");
    }
    const std::uint32_t disk = u32_at(bytes_, record + 16);
    const std::uint32_t directory_disk = u32_at(bytes_, record + 20);
    const std::uint64_t entries_on_disk = u64_at(bytes_, record + 24);
    entry_count_ = u64_at(bytes_, record + 32);
    directory_size_ = u64_at(bytes_, record + 40);
    directory_offset_ = u64_at(bytes_, record + 48);
    directory_limit_ = record;
    if (disk != 0 || directory_disk != 0 || entries_on_disk != entry_count_) {
      fail("unsupported multi-disk zip archive", "a single-file archive (disk 0)",
           "disk " + std::to_string(disk) + " with the central directory on disk " + std::to_string(directory_disk),
           "join the parts into one archive first");
    }
  }

  std::vector<ZipEntry> read_central_directory() {
    if (!fits(directory_offset_, directory_size_, directory_limit_)) {
      fail("zip central directory out of bounds",
           "a directory inside the first " + std::to_string(directory_limit_) + " bytes",
           std::to_string(directory_size_) + " bytes at offset " + std::to_string(directory_offset_));
    }
    if (entry_count_ > directory_size_ / kCentralHeaderSize) {
      fail("invalid zip central directory",
           "at most " + std::to_string(directory_size_ / kCentralHeaderSize) + " entries in " +
               std::to_string(directory_size_) + " bytes",
           std::to_string(entry_count_) + " entries");
    }
    std::vector<ZipEntry> entries;
    entries.reserve(static_cast<std::size_t>(entry_count_));
    const std::uint64_t directory_end = directory_offset_ + directory_size_;
    std::uint64_t pos = directory_offset_;
    for (std::uint64_t i = 0; i < entry_count_; ++i) {
      entries.push_back(read_entry(pos, directory_end, i));
    }
    return entries;
  }

  // One central-directory header at `pos` (advanced past it), then its local header.
  ZipEntry read_entry(std::uint64_t& pos, std::uint64_t directory_end, std::uint64_t index) {
    const std::string which = "central directory entry " + std::to_string(index);
    if (!fits(pos, kCentralHeaderSize, directory_end) || u32_at(bytes_, pos) != kCentralHeaderSignature) {
      fail("invalid zip " + which, "a header with signature PK\\x01\\x02 at byte " + std::to_string(pos),
           fits(pos, kCentralHeaderSize, directory_end) ? "other bytes" : "the end of the directory");
    }
    const std::uint16_t flags = u16_at(bytes_, pos + 8);
    const std::uint16_t method = u16_at(bytes_, pos + 10);
    const std::uint32_t crc = u32_at(bytes_, pos + 16);
    std::uint64_t compressed = u32_at(bytes_, pos + 20);
    std::uint64_t uncompressed = u32_at(bytes_, pos + 24);
    const std::uint16_t name_size = u16_at(bytes_, pos + 28);
    const std::uint16_t extra_size = u16_at(bytes_, pos + 30);
    const std::uint16_t comment_size = u16_at(bytes_, pos + 32);
    std::uint64_t disk = u16_at(bytes_, pos + 34);
    std::uint64_t local = u32_at(bytes_, pos + 42);
    const std::uint64_t variable = std::uint64_t{name_size} + extra_size + comment_size;
    if (!fits(pos + kCentralHeaderSize, variable, directory_end)) {
      fail("invalid zip " + which, "name, extra field and comment inside the central directory",
           std::to_string(variable) + " bytes past byte " + std::to_string(pos + kCentralHeaderSize));
    }
    ZipEntry entry;
    entry.name.assign(reinterpret_cast<const char*>(bytes_.data() + pos + kCentralHeaderSize), name_size);
    entry.crc32 = crc;
    const std::span<const std::byte> extra = bytes_.subspan(pos + kCentralHeaderSize + name_size, extra_size);
    read_zip64_extra(extra, entry.name, uncompressed, compressed, local, disk);
    pos += kCentralHeaderSize + variable;

    if (flags & kFlagEncrypted) {
      fail_entry("encrypted zip entry", entry.name, "unencrypted data", "an encrypted entry",
                 "decrypt the archive first");
    }
    if (method != kMethodStored) {
      fail_entry("compressed zip entry", entry.name, "stored (uncompressed) data, as torch.save writes it",
                 "compression method " + method_name(method),
                 "re-save the file with torch.save (which never compresses) or convert it to safetensors");
    }
    if (compressed != uncompressed) {
      fail_entry("invalid zip entry", entry.name, "equal compressed and uncompressed sizes for a stored entry",
                 std::to_string(compressed) + " and " + std::to_string(uncompressed));
    }
    if (disk != 0) {
      fail_entry("unsupported multi-disk zip archive", entry.name, "the entry on disk 0",
                 "disk " + std::to_string(disk), "join the parts into one archive first");
    }
    entry.size = uncompressed;
    entry.data_offset = read_local_header(local, entry.name);
    if (!fits(entry.data_offset, entry.size, directory_offset_)) {
      fail_entry("zip entry data out of bounds", entry.name,
           "data ending before the central directory at byte " + std::to_string(directory_offset_),
           std::to_string(entry.size) + " bytes at offset " + std::to_string(entry.data_offset));
    }
    return entry;
  }

  // The ZIP64 extended-information field: 64-bit values for each 32-bit field saturated at its maximum, in the
  // order uncompressed size, compressed size, local header offset, disk number (APPNOTE §4.5.3).
  void read_zip64_extra(std::span<const std::byte> extra, const std::string& name, std::uint64_t& uncompressed,
                        std::uint64_t& compressed, std::uint64_t& local, std::uint64_t& disk) const {
    std::uint64_t pos = 0;
    while (extra.size() - pos >= 4) {
      const std::uint16_t id = u16_at(extra, pos);
      const std::uint16_t field_size = u16_at(extra, pos + 2);
      pos += 4;
      if (field_size > extra.size() - pos) {
        fail_entry("invalid zip extra field", name,
             "a field of at most " + std::to_string(extra.size() - pos) + " bytes", std::to_string(field_size));
      }
      if (id == kZip64ExtraId) {
        const std::span<const std::byte> field = extra.subspan(pos, field_size);
        std::uint64_t at = 0;
        const auto take64 = [&](std::uint64_t& value, const char* what) {
          if (field.size() - at < 8) {
            fail_entry("invalid zip64 extra field", name, std::string("a 64-bit ") + what,
                 "the end of the field");
          }
          value = u64_at(field, at);
          at += 8;
        };
        if (uncompressed == 0xffffffff) take64(uncompressed, "uncompressed size");
        if (compressed == 0xffffffff) take64(compressed, "compressed size");
        if (local == 0xffffffff) take64(local, "local header offset");
        if (disk == 0xffff) {
          if (field.size() - at < 4) {
            fail_entry("invalid zip64 extra field", name, "a 32-bit disk number",
                 "the end of the field");
          }
          disk = u32_at(field, at);
        }
        return;
      }
      pos += field_size;
    }
  }

  // Checks the local header at `offset` and returns where the entry's data starts: after the LOCAL name and extra
  // field, whose length differs from the central directory's when torch pads it for alignment.
  std::uint64_t read_local_header(std::uint64_t offset, const std::string& name) const {
    if (!fits(offset, kLocalHeaderSize, directory_offset_) || u32_at(bytes_, offset) != kLocalHeaderSignature) {
      fail_entry("invalid zip local header", name,
                 "the signature PK\\x03\\x04 at byte " + std::to_string(offset) +
                     ", before the central directory at byte " + std::to_string(directory_offset_),
                 fits(offset, kLocalHeaderSize, directory_offset_) ? "other bytes" : "an offset out of range");
    }
    const std::uint16_t name_size = u16_at(bytes_, offset + 26);
    const std::uint16_t extra_size = u16_at(bytes_, offset + 28);
    const std::uint64_t data = offset + kLocalHeaderSize + name_size + extra_size;
    if (data > directory_offset_) {
      fail_entry("invalid zip local header", name,
                 "name and extra field ending before the central directory at byte " + std::to_string(directory_offset_),
                 "an end at byte " + std::to_string(data));
    }
    const std::string_view local_name(reinterpret_cast<const char*>(bytes_.data() + offset + kLocalHeaderSize),
                                      name_size);
    if (local_name != name) {
      fail_entry("invalid zip local header", name, "the same name as the central directory",
                 "'" + printable_text(local_name) + "'");
    }
    return data;
  }

  std::span<const std::byte> bytes_;
  const std::string& source_;
  std::uint64_t entry_count_ = 0;
  std::uint64_t directory_size_ = 0;
  std::uint64_t directory_offset_ = 0;
  std::uint64_t directory_limit_ = 0;  // the central directory must end here (the end record or its ZIP64 twin)
};

using CrcTables = std::array<std::array<std::uint32_t, 256>, 8>;

// Slicing-by-8 tables for the reflected polynomial 0xEDB88320.
constexpr CrcTables make_crc_tables() {
  CrcTables tables{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    tables[0][i] = c;
  }
  for (std::size_t s = 1; s < 8; ++s) {
    for (std::size_t i = 0; i < 256; ++i) tables[s][i] = (tables[s - 1][i] >> 8) ^ tables[0][tables[s - 1][i] & 0xff];
  }
  return tables;
}

constexpr CrcTables kCrcTables = make_crc_tables();

std::string hex32(std::uint32_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) out += kHex[(value >> shift) & 0xf];
  return out;
}

}  // namespace

std::uint32_t crc32(std::span<const std::byte> bytes, std::uint32_t crc) noexcept {
  const auto& t = kCrcTables;
  crc = ~crc;
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  const auto byte_at = [](const std::byte* q, int i) { return static_cast<std::uint32_t>(q[i]); };
  while (n >= 8) {
    const std::uint32_t one = (byte_at(p, 0) | byte_at(p, 1) << 8 | byte_at(p, 2) << 16 | byte_at(p, 3) << 24) ^ crc;
    const std::uint32_t two = byte_at(p, 4) | byte_at(p, 5) << 8 | byte_at(p, 6) << 16 | byte_at(p, 7) << 24;
    crc = t[7][one & 0xff] ^ t[6][(one >> 8) & 0xff] ^ t[5][(one >> 16) & 0xff] ^ t[4][one >> 24] ^
          t[3][two & 0xff] ^ t[2][(two >> 8) & 0xff] ^ t[1][(two >> 16) & 0xff] ^ t[0][two >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ static_cast<std::uint32_t>(*p++)) & 0xff];
  return ~crc;
}

ZipArchive ZipArchive::parse(std::span<const std::byte> bytes, std::string source) {
  ZipArchive archive;
  archive.bytes_ = bytes;
  archive.source_ = std::move(source);
  archive.entries_ = Parser(bytes, archive.source_).parse();
  for (std::size_t i = 0; i < archive.entries_.size(); ++i) {
    const auto [it, inserted] = archive.index_by_name_.emplace(archive.entries_[i].name, i);
    if (!inserted) {
      throw FormatError("duplicate zip entry: '" + archive.source_ + "': expected each name once, got '" +
                        printable_text(archive.entries_[i].name) + "' twice; " + std::string(kRemedy));
    }
  }
  return archive;
}

const ZipEntry* ZipArchive::find(std::string_view name) const noexcept {
  const auto it = index_by_name_.find(name);
  return it == index_by_name_.end() ? nullptr : &entries_[it->second];
}

std::span<const std::byte> ZipArchive::data(const ZipEntry& entry) const noexcept {
  return bytes_.subspan(static_cast<std::size_t>(entry.data_offset), static_cast<std::size_t>(entry.size));
}

void ZipArchive::verify_crc32(const ZipEntry& entry) const {
  if (entry.crc32 == 0 && entry.size != 0) return;
  const std::uint32_t actual = crc32(data(entry));
  if (actual != entry.crc32) {
    throw FormatError("CRC-32 mismatch in zip entry '" + printable_text(entry.name) + "': '" + source_ + "': expected " +
                      hex32(entry.crc32) + " (from the central directory), got " + hex32(actual) +
                      "; the file is corrupt (a damaged download?); download or save it again");
  }
}

}  // namespace autotimm::detail
