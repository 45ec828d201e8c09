// Instance masks from a CSV (one row per object, a mask PNG each) → detection records with masks. Fields are checked
// before use, with file, line and column in the message; image sizes come from the image headers, read once per
// image; every mask is decoded once, which both checks it and gives the object's box and area.
#include "autotimm/data/csv_instances.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <unordered_map>

#include "autotimm/data/instance_masks.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "csv.hpp"
#include "image_dimensions.hpp"

namespace autotimm {

namespace {

namespace fs = std::filesystem;

constexpr std::array<const char*, 3> kColumns = {"image", "mask", "label"};
constexpr const char* kExpectedHeader = "image,mask,label";

fs::path resolved(const fs::path& root, const std::string& relative) {
  const fs::path path(relative);
  return path.is_absolute() ? path : root / path;
}

/// The mask's pixel count and tight box (x2, y2 one past the last column and row, as COCO's bbox x + w).
struct MaskExtent {
  double area = 0.0;
  std::array<double, 4> box = {};
};

MaskExtent extent_of(const Image& mask) {
  int x1 = mask.width, y1 = mask.height, x2 = -1, y2 = -1;
  std::int64_t count = 0;
  for (int y = 0; y < mask.height; ++y) {
    const std::uint8_t* row = mask.row(y);
    for (int x = 0; x < mask.width; ++x) {
      if (row[x] == 0) continue;
      ++count;
      x1 = std::min(x1, x);
      x2 = std::max(x2, x);
      y1 = std::min(y1, y);
      y2 = std::max(y2, y);
    }
  }
  if (count == 0) return {};
  return {static_cast<double>(count), {double(x1), double(y1), double(x2 + 1), double(y2 + 1)}};
}

}  // namespace

DetectionDataset read_csv_instances(const fs::path& csv, const fs::path& image_root,
                                    const CsvInstanceOptions& options) {
  const std::string file = "instance CSV '" + csv.string() + "'";
  std::error_code size_error;  // an unreadable file is read_csv's to report
  if (const auto size = fs::file_size(csv, size_error); !size_error && size > options.max_file_bytes) {
    throw FormatError(file + " is " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(options.max_file_bytes) +
                      "; raise CsvInstanceOptions::max_file_bytes if the file is right");
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
  const std::size_t image_column = column[0], mask_column = column[1], label_column = column[2];

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
      throw ConfigError("CsvInstanceOptions::class_names lists '" + data.class_names[i] +
                        "' twice; give each class once");
    }
    data.category_ids.push_back(static_cast<std::int64_t>(i));
  }

  const fs::path root = image_root.empty() ? csv.parent_path() : image_root;
  std::unordered_map<std::string, std::size_t> record_of;  // normalised image path → its record
  std::int64_t object_count = 0;
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

    // The mask and label fields are both given (an object) or both empty (an image without objects).
    const bool no_mask = row[mask_column].empty(), no_label = row[label_column].empty();
    if (no_mask && no_label) continue;
    if (no_mask || no_label) {
      throw FormatError(at_column(no_mask ? 1 : 2) +
                        " is empty; an object fills mask and label, an image without objects leaves both empty");
    }
    const auto& name = row[label_column];
    const auto label = label_of.find(name);
    if (label == label_of.end()) {
      const auto hint = did_you_mean(name, data.class_names);
      throw ConfigError(at_column(2) + ": label '" + name + "' is not one of the classes" +
                        (hint ? " (did you mean '" + *hint + "'?)" : std::string()) + ": " +
                        join_names(data.class_names));
    }
    const std::int64_t id = ++object_count;
    const auto& target = data.records[record->second];
    InstanceMaskSource mask{.png = resolved(root, row[mask_column])};
    const auto extent = extent_of(decode_instance_mask(mask, target.width, target.height, at_column(1)));
    if (extent.area == 0) {
      ++data.dropped_degenerate;  // nothing to learn from or to box
      continue;
    }
    data.records[record->second].annotations.push_back(DetectionAnnotation{.box = extent.box,
                                                                           .label = label->second,
                                                                           .category_id = label->second,
                                                                           .area = extent.area,
                                                                           .id = id,
                                                                           .segmentation = std::move(mask)});
  }
  return data;
}

}  // namespace autotimm
