#include "records_csv.hpp"

#include <algorithm>
#include <set>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "image_dimensions.hpp"

namespace autotimm::data {

namespace fs = std::filesystem;

std::string RecordsCsv::line(std::size_t row) const {
  return file + " line " + std::to_string(table.line_numbers[row]);
}

std::string RecordsCsv::at(std::size_t row, std::size_t column) const {
  return line(row) + ", column '" + names[column] + "'";
}

RecordsCsv read_records_csv(const fs::path& csv, const std::string& kind, const std::vector<std::string>& columns,
                            std::uintmax_t max_bytes, const std::string& limit_option) {
  RecordsCsv out{.file = kind + " CSV '" + csv.string() + "'", .table = {}, .columns = {}, .names = columns};
  std::error_code size_error;  // an unreadable file is read_csv's to report
  if (const auto size = fs::file_size(csv, size_error); !size_error && size > max_bytes) {
    throw FormatError(out.file + " is " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(max_bytes) + "; raise " + limit_option + " if the file is right");
  }
  out.table = read_csv(csv);
  std::vector<std::string> missing;
  std::string expected_header;
  for (const auto& name : columns) {
    const int index = column_index(out.table, name);
    if (index < 0) missing.push_back("'" + name + "'");
    out.columns.push_back(static_cast<std::size_t>(std::max(index, 0)));
    expected_header += (expected_header.empty() ? "" : ",") + name;
  }
  if (!missing.empty()) {
    throw FormatError(out.file + ": missing column" + (missing.size() > 1 ? "s " : " ") + join_names(missing) +
                      "; expected a header naming " + expected_header +
                      " (any order, other columns ignored), got: " + join_names(out.table.header));
  }
  if (out.table.rows.empty()) throw ConfigError(out.file + " has a header but no rows");
  return out;
}

std::map<std::string, std::int64_t> take_class_names(DetectionDataset& data, const std::vector<std::string>& given,
                                                     const RecordsCsv& csv, std::size_t label_column,
                                                     const std::string& option) {
  if (!given.empty()) {
    data.class_names = given;
  } else {
    std::set<std::string> names;
    for (std::size_t r = 0; r < csv.table.rows.size(); ++r) {
      if (!csv.field(r, label_column).empty()) names.insert(csv.field(r, label_column));
    }
    data.class_names.assign(names.begin(), names.end());
  }
  std::map<std::string, std::int64_t> labels;
  for (std::size_t i = 0; i < data.class_names.size(); ++i) {
    if (!labels.emplace(data.class_names[i], static_cast<std::int64_t>(i)).second) {
      throw ConfigError(option + " lists '" + data.class_names[i] + "' twice; give each class once");
    }
    data.category_ids.push_back(static_cast<std::int64_t>(i));
  }
  return labels;
}

std::int64_t label_of(const std::map<std::string, std::int64_t>& labels, const std::vector<std::string>& classes,
                      const std::string& name, const std::string& where) {
  if (const auto found = labels.find(name); found != labels.end()) return found->second;
  const auto hint = did_you_mean(name, classes);
  throw ConfigError(where + ": label '" + name + "' is not one of the classes" +
                    (hint ? " (did you mean '" + *hint + "'?)" : std::string()) + ": " + join_names(classes));
}

fs::path RecordsByImage::resolved(const std::string& relative) const {
  const fs::path path(relative);
  return path.is_absolute() ? path : root_ / path;
}

std::size_t RecordsByImage::record_of(DetectionDataset& data, const std::string& relative, const std::string& where) {
  const fs::path image = resolved(relative);
  const auto [record, added] = records_.emplace(image.lexically_normal().string(), data.records.size());
  if (!added) return record->second;
  ImageDimensions size;
  try {
    size = read_image_dimensions(image);
  } catch (const FormatError& error) {
    throw FormatError(where + ": " + error.what());
  } catch (const IoError& error) {
    throw IoError(where + ": " + error.what());
  }
  data.records.push_back(DetectionRecord{.image = image,
                                         .image_id = static_cast<std::int64_t>(data.records.size()),
                                         .width = size.width,
                                         .height = size.height,
                                         .annotations = {}});
  return record->second;
}

}  // namespace autotimm::data
