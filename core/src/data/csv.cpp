#include "csv.hpp"

#include <fstream>
#include <iterator>

#include "autotimm/error.hpp"

namespace autotimm::data {

namespace {

constexpr std::uintmax_t kMaxCsvBytes = std::uintmax_t{1} << 30;

std::string trimmed(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

}  // namespace

CsvTable read_csv(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw IoError("cannot read CSV '" + path.string() + "': " + ec.message());
  if (size > kMaxCsvBytes) throw FormatError("CSV '" + path.string() + "' is over 1 GiB; split it");
  std::ifstream in(path, std::ios::binary);
  std::string text(std::istreambuf_iterator<char>(in), {});
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);

  CsvTable table;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_was_quoted = false;
  std::size_t line = 1, row_line = 1;
  const auto end_row = [&] {
    row.push_back(field_was_quoted ? field : trimmed(field));
    field.clear();
    field_was_quoted = false;
    const bool blank = row.size() == 1 && row[0].empty();
    if (!blank) {
      if (table.header.empty()) {
        for (auto& name : row) table.header.push_back(trimmed(name));
      } else {
        if (row.size() != table.header.size()) {
          throw FormatError("CSV '" + path.string() + "' line " + std::to_string(row_line) + ": " +
                            std::to_string(row.size()) + " fields, but the header has " +
                            std::to_string(table.header.size()));
        }
        table.rows.push_back(std::move(row));
        table.line_numbers.push_back(row_line);
      }
    }
    row.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"' && trimmed(field).empty()) {
      quoted = true;
      field_was_quoted = true;
      field.clear();
    } else if (c == ',') {
      row.push_back(field_was_quoted ? field : trimmed(field));
      field.clear();
      field_was_quoted = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_row();
      row_line = ++line;
    } else {
      field += c;
    }
  }
  if (quoted) {
    throw FormatError("CSV '" + path.string() + "' line " + std::to_string(row_line) +
                      ": a quoted field is never closed");
  }
  if (!field.empty() || !row.empty()) end_row();
  if (table.header.empty()) throw ConfigError("CSV '" + path.string() + "' is empty: it needs a header line");
  return table;
}

int column_index(const CsvTable& table, const std::string& name) {
  for (std::size_t i = 0; i < table.header.size(); ++i) {
    if (table.header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace autotimm::data
