// COCO instance annotations → detection records (and, when asked, each object's mask as polygons or an RLE). Every
// field is checked before use, with the file and the entry in the message; the file is size-checked before it is read.
#include "autotimm/data/coco_detection.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>

#include "autotimm/data/rle.hpp"
#include "autotimm/error.hpp"
#include "coco_json.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* kSegmentationForms =
    "polygons (a list of [x1, y1, x2, y2, ...] lists) or an RLE object {\"size\": [height, width], \"counts\": ...}";

/// An annotation's `segmentation`: polygons in the image's pixels, kept as written, or an RLE of the whole image
/// (`size` [height, width]; `counts` compressed as a string, or run lengths as an array, as crowd regions store
/// them), decoded to runs here so a malformed one is reported when the file is read.
InstanceMaskSource read_segmentation(const data::CocoJson& r, const json::object& a, const DetectionRecord& image,
                                     const std::string& where) {
  const auto* value = a.if_contains("segmentation");
  const bool missing = value == nullptr || value->is_null() || (value->is_array() && value->as_array().empty()) ||
                       (value->is_object() && value->as_object().empty());
  if (missing) {
    r.fail(where + ": has no 'segmentation'; CocoReadOptions::read_segmentation needs every annotation's mask (" +
           kSegmentationForms + "): add it, or read boxes only");
  }
  const std::string field = where + " segmentation";
  InstanceMaskSource source;
  if (value->is_array()) {
    for (const auto& part_value : value->as_array()) {
      const std::string part_where = field + " polygon " + std::to_string(source.polygons.size());
      if (!part_value.is_array()) r.fail(part_where + ": expected a list of x, y numbers; a segmentation is " +
                                         kSegmentationForms);
      const auto& part = part_value.as_array();
      if (part.size() < 6 || part.size() % 2 != 0) {
        r.fail(part_where + ": expected x, y pairs of at least 3 points (an even count of 6 or more numbers), got " +
               std::to_string(part.size()) + " numbers");
      }
      std::vector<double> polygon;
      polygon.reserve(part.size());
      for (const auto& number : part) polygon.push_back(r.number(number, part_where));
      source.polygons.push_back(std::move(polygon));
    }
    return source;
  }
  if (!value->is_object()) r.fail(field + ": expected " + kSegmentationForms);
  const auto& rle = value->as_object();
  const auto& size = r.array_at(rle, "size", field);
  if (size.size() != 2) {
    r.fail(field + ": 'size' must be [height, width], got " + std::to_string(size.size()) + " numbers");
  }
  const auto height = r.integer(size[0], field + " size"), width = r.integer(size[1], field + " size");
  if (height != image.height || width != image.width) {
    r.fail(field + ": the RLE's size [" + std::to_string(height) + ", " + std::to_string(width) +
           "] is not image " + std::to_string(image.image_id) + "'s [height, width] [" + std::to_string(image.height) +
           ", " + std::to_string(image.width) + "]; an RLE covers its whole image: encode it at the image's size");
  }
  const auto* counts = rle.if_contains("counts");
  if (counts == nullptr || !(counts->is_string() || counts->is_array())) {
    r.fail(field + ": expected 'counts', a string (compressed RLE) or an array of run lengths");
  }
  std::vector<std::int64_t> runs;
  if (counts->is_array()) {
    runs.reserve(counts->as_array().size());
    for (const auto& run : counts->as_array()) runs.push_back(r.integer(run, field + " counts"));
  }
  try {
    if (counts->is_string()) {
      const auto& text = counts->as_string();
      source.rle = rle_from_string(std::string_view(text.data(), text.size()), image.height, image.width);
    } else {
      source.rle = rle_from_counts(runs, image.height, image.width);
    }
  } catch (const FormatError& error) {
    r.fail(field + ": " + error.what());
  }
  return source;
}

}  // namespace

DetectionDataset read_coco_detection(const fs::path& annotation_file, const fs::path& image_dir,
                                     const CocoReadOptions& options) {
  const data::CocoJson r(annotation_file, "COCO annotations");
  const auto root_value = r.parse(options.max_file_bytes, "CocoReadOptions::max_file_bytes");
  const auto& root = r.object_of(root_value, "the top level");

  DetectionDataset data;
  // Categories in ascending id order become labels 0, 1, …
  std::map<std::int64_t, std::string> categories;
  for (const auto& value : r.array_at(root, "categories", "the top level")) {
    const auto& c = r.object_of(value, "a category");
    const auto id = r.integer_at(c, "id", "a category");
    const std::string where = "category " + std::to_string(id);
    if (!categories.emplace(id, r.string_at(c, "name", where)).second) r.fail(where + " is listed twice");
  }
  std::unordered_map<std::int64_t, std::int64_t> label_of;
  for (const auto& [id, name] : categories) {
    label_of[id] = static_cast<std::int64_t>(data.class_names.size());
    data.category_ids.push_back(id);
    data.class_names.push_back(name);
  }

  std::unordered_map<std::int64_t, std::size_t> record_of;
  for (const auto& value : r.array_at(root, "images", "the top level")) {
    const auto& image = r.object_of(value, "an image");
    DetectionRecord record;
    record.image_id = r.integer_at(image, "id", "an image");
    const std::string where = "image " + std::to_string(record.image_id);
    const auto name = r.string_at(image, "file_name", where);
    record.image = image_dir / name;
    record.width = static_cast<int>(r.integer_at(image, "width", where));
    record.height = static_cast<int>(r.integer_at(image, "height", where));
    if (record.width < 1 || record.height < 1) r.fail(where + ": width and height must be positive");
    if (!record_of.emplace(record.image_id, data.records.size()).second) r.fail(where + " is listed twice");
    data.records.push_back(std::move(record));
  }

  // A file without annotations (test images) is a dataset of images only.
  if (!root.contains("annotations")) return data;
  for (const auto& value : r.array_at(root, "annotations", "the top level")) {
    const auto& a = r.object_of(value, "an annotation");
    DetectionAnnotation annotation;
    annotation.id = r.integer_at(a, "id", "an annotation");
    const std::string where = "annotation " + std::to_string(annotation.id);
    const auto image_id = r.integer_at(a, "image_id", where);
    const auto record = record_of.find(image_id);
    if (record == record_of.end()) r.fail(where + ": image_id " + std::to_string(image_id) + " is not in 'images'");
    annotation.category_id = r.integer_at(a, "category_id", where);
    const auto label = label_of.find(annotation.category_id);
    if (label == label_of.end()) {
      r.fail(where + ": category_id " + std::to_string(annotation.category_id) + " is not in 'categories'");
    }
    annotation.label = label->second;
    const auto& bbox = r.array_at(a, "bbox", where);
    if (bbox.size() != 4) r.fail(where + ": 'bbox' must be [x, y, width, height], got " + std::to_string(bbox.size()) +
                                 " numbers");
    const double x = r.number(bbox[0], where + " bbox"), y = r.number(bbox[1], where + " bbox");
    const double w = r.number(bbox[2], where + " bbox"), h = r.number(bbox[3], where + " bbox");
    if (w < 0 || h < 0) r.fail(where + ": 'bbox' has a negative width or height");
    if (const auto* crowd = a.if_contains("iscrowd")) {
      if (!crowd->is_int64() && !crowd->is_bool()) r.fail(where + ": expected 'iscrowd' 0 or 1");
      annotation.iscrowd = crowd->is_bool() ? crowd->as_bool() : crowd->as_int64() != 0;
    }
    annotation.area = a.contains("area") ? r.number(a.at("area"), where + " area") : w * h;
    if (options.read_segmentation) {
      annotation.segmentation = read_segmentation(r, a, data.records[record->second], where);
    }
    if (w == 0 || h == 0) {
      ++data.dropped_degenerate;  // nothing to regress to; COCO has a few
      continue;
    }
    if (w * h < options.min_bbox_area) {
      ++data.dropped_small;
      continue;
    }
    annotation.box = {x, y, x + w, y + h};
    data.records[record->second].annotations.push_back(annotation);
  }
  return data;
}

}  // namespace autotimm
