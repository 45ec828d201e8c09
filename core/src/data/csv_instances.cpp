// Instance masks from a CSV (one row per object, a mask PNG each) → detection records with masks. Fields are checked
// before use, with file, line and column in the message; image sizes come from the image headers, read once per
// image; every mask is decoded once, which both checks it and gives the object's box and area.
#include "autotimm/data/csv_instances.hpp"

#include <vector>

#include "autotimm/data/instance_masks.hpp"
#include "autotimm/data/rle.hpp"
#include "autotimm/error.hpp"
#include "records_csv.hpp"

namespace autotimm {

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kColumns = {"image", "mask", "label"};

}  // namespace

DetectionDataset read_csv_instances(const fs::path& csv, const fs::path& image_root,
                                    const CsvInstanceOptions& options) {
  const auto file = data::read_records_csv(csv, "instance", kColumns, options.max_file_bytes,
                                           "CsvInstanceOptions::max_file_bytes");
  DetectionDataset data;
  const auto labels = data::take_class_names(data, options.class_names, file, 2, "CsvInstanceOptions::class_names");
  data::RecordsByImage images(image_root.empty() ? csv.parent_path() : image_root);
  std::int64_t object_count = 0;
  for (std::size_t r = 0; r < file.table.rows.size(); ++r) {
    if (file.field(r, 0).empty()) throw FormatError(file.at(r, 0) + ": the image path is empty");
    const std::size_t record = images.record_of(data, file.field(r, 0), file.line(r));

    // The mask and label fields are both given (an object) or both empty (an image without objects).
    const bool no_mask = file.field(r, 1).empty(), no_label = file.field(r, 2).empty();
    if (no_mask && no_label) continue;
    if (no_mask || no_label) {
      throw FormatError(file.at(r, no_mask ? 1 : 2) +
                        " is empty; an object fills mask and label, an image without objects leaves both empty");
    }
    const auto label = data::label_of(labels, data.class_names, file.field(r, 2), file.at(r, 2));
    const std::int64_t id = ++object_count;
    auto& target = data.records[record];
    InstanceMaskSource mask{.png = images.resolved(file.field(r, 1))};
    // Its pixel count and tight box (x2, y2 one past the last column and row, as COCO's bbox x + w).
    const Rle extent = rle_encode(decode_instance_mask(mask, target.width, target.height, file.at(r, 1)));
    if (extent.area() == 0) {
      ++data.dropped_degenerate;  // nothing to learn from or to box
      continue;
    }
    target.annotations.push_back(DetectionAnnotation{.box = extent.box(),
                                                     .label = label,
                                                     .category_id = label,
                                                     .area = static_cast<double>(extent.area()),
                                                     .id = id,
                                                     .segmentation = std::move(mask)});
  }
  return data;
}

}  // namespace autotimm
