#pragma once
// A small RFC 4180 reader: comma-separated, fields optionally in double quotes ("" inside quotes is one quote),
// CRLF or LF line ends, a UTF-8 BOM skipped. Bounded: the file may hold at most 1 GiB.
#include <filesystem>
#include <string>
#include <vector>

namespace autotimm::data {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> line_numbers;  ///< of each row, 1-based, for messages
};

/// FormatError naming the file and line for an unterminated quote or a row whose field count differs from the
/// header's; IoError when unreadable; ConfigError when it has no header.
CsvTable read_csv(const std::filesystem::path& path);

/// The index of `name` in the header (case-sensitive, surrounding spaces ignored), or -1.
int column_index(const CsvTable& table, const std::string& name);

}  // namespace autotimm::data
