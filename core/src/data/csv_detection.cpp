// Detection boxes from a CSV (one row per box) → detection records. Fields are checked before use, with file, line
// and column in the message; image sizes come from the image headers, read once per image.
#include "autotimm/data/csv_detection.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "csv.hpp"
#include "image_dimensions.hpp"

namespace autotimm {

namespace {

namespace fs = std::filesystem;

constexpr std::array<const char*, 6> kColumns = {"image", "x1", "y1", "x2", "y2", "label"};
constexpr const char* kExpectedHeader = "image,x1,y1,x2,y2,label";

/// The whole text as a finite number, or nothing.
std::optional<double> finite_number(const std::string& text) {
  double value = 0.0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || stop != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

fs::path resolved(const fs::path& root, const std::string& relative) {
  const fs::path path(relative);
  return path.is_absolute() ? path : root / path;
}

}  // namespace

DetectionDataset read_csv_detection(const fs::path& csv, const fs::path& image_root,
                                    const CsvDetectionOptions& options) {
  const std::string file = "detection CSV '" + csv.string() + "'";
  std::error_code size_error;  // an unreadable file is read_csv's to report
  if (const auto size = fs::file_size(csv, size_error); !size_error && size > options.max_file_bytes) {
    throw FormatError(file + " is " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(options.max_file_bytes) +
                      "; raise CsvDetectionOptions::max_file_bytes if the file is right");
  }
  const auto table = data::read_csv(csv);

  std::array<std::size_t, kColumns.size()> column{};
  std::vector<std::string> missing;
  for (std::size_t c = 0; c < kColumns.size(); ++c) {
    const int index = data::column_index(table, kColumns[c]);
    if (index < 0) missing.push_back("'" + std::string(kColumns[c]) + "'");
    column[c] = static_cast<std::size_t>(std::max(index, 0));
  }
  if (!missing.empty()) {
    throw FormatError(file + ": missing column" + (missing.size() > 1 ? "s " : " ") + join_names(missing) +
                      "; expected a header naming " + kExpectedHeader +
                      " (any order, other columns ignored), got: " + join_names(table.header));
  }
  if (table.rows.empty()) throw ConfigError(file + " has a header but no rows");
  const std::size_t image_column = column[0], label_column = column[5];

  DetectionDataset data;
  if (!options.class_names.empty()) {
    data.class_names = options.class_names;
  } else {
    std::set<std::string> names;
    for (const auto& row : table.rows) {
      if (!row[label_column].empty()) names.insert(row[label_column]);
    }
    data.class_names.assign(names.begin(), names.end());
  }
  std::map<std::string, std::int64_t> label_of;
  for (std::size_t i = 0; i < data.class_names.size(); ++i) {
    if (!label_of.emplace(data.class_names[i], static_cast<std::int64_t>(i)).second) {
      throw ConfigError("CsvDetectionOptions::class_names lists '" + data.class_names[i] +
                        "' twice; give each class once");
    }
    data.category_ids.push_back(static_cast<std::int64_t>(i));
  }

  const fs::path root = image_root.empty() ? csv.parent_path() : image_root;
  std::unordered_map<std::string, std::size_t> record_of;  // normalised image path → its record
  std::int64_t box_count = 0;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    const std::string line = file + " line " + std::to_string(table.line_numbers[r]);
    const auto at_column = [&](std::size_t c) { return line + ", column '" + kColumns[c] + "'"; };
    if (row[image_column].empty()) throw FormatError(at_column(0) + ": the image path is empty");

    const fs::path image = resolved(root, row[image_column]);
    auto [record, added] = record_of.emplace(image.lexically_normal().string(), data.records.size());
    if (added) {
      data::ImageDimensions size;
      try {
        size = data::read_image_dimensions(image);
      } catch (const FormatError& error) {
        throw FormatError(line + ": " + error.what());
      } catch (const IoError& error) {
        throw IoError(line + ": " + error.what());
      }
      data.records.push_back(DetectionRecord{.image = image,
                                             .image_id = static_cast<std::int64_t>(data.records.size()),
                                             .width = size.width,
                                             .height = size.height,
                                             .annotations = {}});
    }

    // The box and label fields are all given (a box) or all empty (an image without objects).
    std::vector<std::string> empty;
    for (std::size_t c = 1; c < kColumns.size(); ++c) {
      if (row[column[c]].empty()) empty.push_back("'" + std::string(kColumns[c]) + "'");
    }
    if (empty.size() == kColumns.size() - 1) continue;
    if (!empty.empty()) {
      throw FormatError(line + ": column" + (empty.size() > 1 ? "s " : " ") + join_names(empty) +
                        (empty.size() > 1 ? " are" : " is") +
                        " empty; a box fills x1, y1, x2, y2 and label, an image without objects leaves all five empty");
    }
    std::array<double, 4> box{};
    for (std::size_t k = 0; k < 4; ++k) {
      const auto& text = row[column[k + 1]];
      const auto value = finite_number(text);
      if (!value) throw FormatError(at_column(k + 1) + ": expected a finite number, got '" + text + "'");
      box[k] = *value;
    }
    for (std::size_t k = 0; k < 2; ++k) {
      if (box[k + 2] < box[k]) {
        throw FormatError(at_column(k + 3) + ": " + kColumns[k + 3] + " " + row[column[k + 3]] + " is less than " +
                          kColumns[k + 1] + " " + row[column[k + 1]] +
                          "; boxes are x1,y1,x2,y2 corners in pixels with x1 <= x2 and y1 <= y2");
      }
    }
    const auto& name = row[label_column];
    const auto label = label_of.find(name);
    if (label == label_of.end()) {
      const auto hint = did_you_mean(name, data.class_names);
      throw ConfigError(at_column(5) + ": label '" + name + "' is not one of the classes" +
                        (hint ? " (did you mean '" + *hint + "'?)" : std::string()) + ": " +
                        join_names(data.class_names));
    }
    const std::int64_t id = ++box_count;
    const double width = box[2] - box[0], height = box[3] - box[1];
    if (width == 0 || height == 0) {
      ++data.dropped_degenerate;  // nothing to regress to
      continue;
    }
    if (width * height < options.min_bbox_area) {
      ++data.dropped_small;
      continue;
    }
    data.records[record->second].annotations.push_back(DetectionAnnotation{
        .box = box, .label = label->second, .category_id = label->second, .area = width * height, .id = id});
  }
  return data;
}

}  // namespace autotimm
