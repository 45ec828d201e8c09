// Detection boxes from a CSV (one row per box) → detection records. Fields are checked before use, with file, line
// and column in the message; image sizes come from the image headers, read once per image.
#include "autotimm/data/csv_detection.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <vector>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "records_csv.hpp"

namespace autotimm {

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kColumns = {"image", "x1", "y1", "x2", "y2", "label"};

/// The whole text as a finite number, or nothing.
std::optional<double> finite_number(const std::string& text) {
  double value = 0.0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || stop != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

DetectionDataset read_csv_detection(const fs::path& csv, const fs::path& image_root,
                                    const CsvDetectionOptions& options) {
  const auto file = data::read_records_csv(csv, "detection", kColumns, options.max_file_bytes,
                                           "CsvDetectionOptions::max_file_bytes");
  DetectionDataset data;
  const auto labels = data::take_class_names(data, options.class_names, file, 5, "CsvDetectionOptions::class_names");
  data::RecordsByImage images(image_root.empty() ? csv.parent_path() : image_root);
  std::int64_t box_count = 0;
  for (std::size_t r = 0; r < file.table.rows.size(); ++r) {
    const std::string line = file.line(r);
    if (file.field(r, 0).empty()) throw FormatError(file.at(r, 0) + ": the image path is empty");
    const std::size_t record = images.record_of(data, file.field(r, 0), line);

    // The box and label fields are all given (a box) or all empty (an image without objects).
    std::vector<std::string> empty;
    for (std::size_t c = 1; c < kColumns.size(); ++c) {
      if (file.field(r, c).empty()) empty.push_back("'" + kColumns[c] + "'");
    }
    if (empty.size() == kColumns.size() - 1) continue;
    if (!empty.empty()) {
      throw FormatError(line + ": column" + (empty.size() > 1 ? "s " : " ") + join_names(empty) +
                        (empty.size() > 1 ? " are" : " is") +
                        " empty; a box fills x1, y1, x2, y2 and label, an image without objects leaves all five empty");
    }
    std::array<double, 4> box{};
    for (std::size_t k = 0; k < 4; ++k) {
      const auto& text = file.field(r, k + 1);
      const auto value = finite_number(text);
      if (!value) throw FormatError(file.at(r, k + 1) + ": expected a finite number, got '" + text + "'");
      box[k] = *value;
    }
    for (std::size_t k = 0; k < 2; ++k) {
      if (box[k + 2] < box[k]) {
        throw FormatError(file.at(r, k + 3) + ": " + kColumns[k + 3] + " " + file.field(r, k + 3) + " is less than " +
                          kColumns[k + 1] + " " + file.field(r, k + 1) +
                          "; boxes are x1,y1,x2,y2 corners in pixels with x1 <= x2 and y1 <= y2");
      }
    }
    const auto label = data::label_of(labels, data.class_names, file.field(r, 5), file.at(r, 5));
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
    data.records[record].annotations.push_back(
        DetectionAnnotation{.box = box, .label = label, .category_id = label, .area = width * height, .id = id});
  }
  return data;
}

}  // namespace autotimm
