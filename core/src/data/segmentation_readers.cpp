// Segmentation layouts → records: image files paired with label files (existence checked, so a missing file is
// named here and not mid-epoch), and one value → class table per dataset, shared by its records. Class names and
// mappings are checked against each other before any file is listed.
#include "autotimm/data/segmentation_readers.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "autotimm/data/dataset.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "coco_json.hpp"
#include "csv.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::int64_t kMaxLabelValue = 65535;          // 16-bit PNGs
constexpr std::int64_t kMaxSegmentId = (1 << 24) - 1;  // R + 256 G + 65536 B

/// The class names: options.class_names, else "0" … "n-1" from options.num_classes, else the format's own
/// (`builtin`; empty: the format has none). Checked to fit 8-bit class indices below ignore_index.
std::vector<std::string> class_names_of(const SegmentationReadOptions& options, std::vector<std::string> builtin,
                                        const std::string& reader) {
  std::vector<std::string> names;
  if (!options.class_names.empty()) {
    if (options.num_classes != 0 && options.num_classes != static_cast<std::int64_t>(options.class_names.size())) {
      throw ConfigError(reader + ": SegmentationReadOptions::num_classes is " + std::to_string(options.num_classes) +
                        " but class_names lists " + std::to_string(options.class_names.size()) +
                        " names; give one of the two, or make them agree");
    }
    names = options.class_names;
  } else if (options.num_classes != 0) {
    if (options.num_classes < 0 || options.num_classes > 255) {
      throw ConfigError(reader + ": SegmentationReadOptions::num_classes is " + std::to_string(options.num_classes) +
                        "; class indices are 8-bit, so give 1 to 255 classes");
    }
    for (std::int64_t i = 0; i < options.num_classes; ++i) names.push_back(std::to_string(i));
  } else if (!builtin.empty()) {
    names = std::move(builtin);
  } else {
    throw ConfigError(reader + " needs the classes: set SegmentationReadOptions::class_names (class index → name) "
                      "or num_classes (names \"0\" … \"n-1\"); label value v is class v unless class_mapping says "
                      "otherwise");
  }
  std::set<std::string> seen;
  for (const auto& name : names) {
    if (!seen.insert(name).second) {
      throw ConfigError(reader + ": SegmentationReadOptions::class_names lists '" + name +
                        "' twice; give each class once");
    }
  }
  const auto count = static_cast<std::int64_t>(names.size());
  if (count > options.ignore_index) {
    throw ConfigError(reader + ": SegmentationReadOptions::ignore_index " + std::to_string(options.ignore_index) +
                      " is a class index (there are " + std::to_string(count) +
                      " classes); set it to at least " + std::to_string(count) + " (255 is usual)");
  }
  return names;
}

/// Checks options.class_mapping: keys in [0, max_key], values classes or ignore_index. `value` names a key in
/// messages ("label value").
void check_mapping(const SegmentationReadOptions& options, std::size_t num_classes, std::int64_t max_key,
                   const std::string& value, const std::string& reader) {
  for (const auto& [key, label] : options.class_mapping) {
    const std::string entry = reader + ": SegmentationReadOptions::class_mapping maps " + value + " " +
                              std::to_string(key);
    if (key < 0 || key > max_key) {
      throw ConfigError(entry + ", outside the " + value + "s 0 to " + std::to_string(max_key) + "; map values the "
                        "label files can hold");
    }
    if ((label < 0 || label >= static_cast<std::int64_t>(num_classes)) && label != options.ignore_index) {
      throw ConfigError(entry + " to " + std::to_string(label) + ", which is no class: give a class index 0 to " +
                        std::to_string(num_classes - 1) + ", or ignore_index " +
                        std::to_string(options.ignore_index) + " to leave its pixels out");
    }
  }
}

/// options.class_mapping (checked) as a value → class table; values it does not map are ignored.
std::vector<std::uint8_t> mapping_table(const SegmentationReadOptions& options, std::size_t num_classes,
                                        std::int64_t max_key, const std::string& value, const std::string& reader) {
  check_mapping(options, num_classes, max_key, value, reader);
  const auto largest = options.class_mapping.rbegin()->first;
  std::vector<std::uint8_t> table(static_cast<std::size_t>(largest) + 1, options.ignore_index);
  for (const auto& [key, label] : options.class_mapping) {
    table[static_cast<std::size_t>(key)] = static_cast<std::uint8_t>(label);
  }
  return table;
}

/// The label_values mask every record of a PNG or CSV dataset shares: class_mapping's table, or value v → class v
/// with other values rejected at decode.
SegmentationMask label_values_mask(const SegmentationReadOptions& options, std::size_t num_classes,
                                   const std::string& reader) {
  SegmentationMask mask;
  mask.encoding = MaskEncoding::label_values;
  if (!options.class_mapping.empty()) {
    mask.value_to_class = std::make_shared<const std::vector<std::uint8_t>>(
        mapping_table(options, num_classes, kMaxLabelValue, "label value", reader));
    return mask;
  }
  std::vector<std::uint8_t> identity(num_classes);
  for (std::size_t v = 0; v < num_classes; ++v) identity[v] = static_cast<std::uint8_t>(v);
  mask.value_to_class = std::make_shared<const std::vector<std::uint8_t>>(std::move(identity));
  mask.reject_values_beyond_table = true;
  return mask;
}

bool is_file(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error);
}

/// The text of `path` (`what` names it), refused when over options.max_file_bytes; a UTF-8 BOM is dropped.
std::string read_bounded(const fs::path& path, const std::string& what, const SegmentationReadOptions& options) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error) throw IoError("cannot read " + what + " '" + path.string() + "': " + error.message());
  if (size > options.max_file_bytes) {
    throw FormatError(what + " '" + path.string() + "' is " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(options.max_file_bytes) +
                      "; raise SegmentationReadOptions::max_file_bytes if the file is right");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open " + what + " '" + path.string() + "'");
  std::string text(std::istreambuf_iterator<char>(in), {});
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
  return text;
}

std::string trimmed(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t\r") - begin + 1);
}

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

/// Regular files under `folder` (sub-folders included, hidden entries skipped) that `keep` accepts, sorted by path.
template <class Keep>
std::vector<fs::path> list_files(const fs::path& folder, const std::string& what, Keep keep) {
  std::vector<fs::path> files;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::follow_directory_symlink, error);
       it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) break;
    if (it->path().filename().string().starts_with(".")) {
      if (it->is_directory(error)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(error) && keep(it->path())) files.push_back(it->path());
  }
  if (error) throw IoError("cannot list " + what + " '" + folder.string() + "': " + error.message());
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.generic_string() < b.generic_string(); });
  return files;
}

/// The sub-folders (or, with `stems`, the file stems) of `folder`, for "splits present" hints.
std::vector<std::string> entries_of(const fs::path& folder, bool stems) {
  std::vector<std::string> names;
  std::error_code error;
  for (auto it = fs::directory_iterator(folder, error); !error && it != fs::directory_iterator();
       it.increment(error)) {
    if (stems ? it->is_regular_file(error) : it->is_directory(error)) {
      names.push_back(stems ? it->path().stem().string() : it->path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// Pairs of image and label file, checked to exist; a missing one is an error, or with skip_missing counted and
/// warned about once.
class RecordCollector {
 public:
  RecordCollector(const SegmentationReadOptions& options, std::string source)
      : options_(options), source_(std::move(source)) {}

  /// Adds the record, or (skip_missing) leaves it out when a file is missing. `where` says where the pair was
  /// found ("line 3 of ...") for messages.
  void add(const fs::path& image, const SegmentationMask& mask, const std::string& where) {
    for (const auto& [path, kind] : {std::pair{image, "image"}, std::pair{mask.path, "label file"}}) {
      if (is_file(path)) continue;
      if (options_.skip_missing) {
        ++skipped_;
        return;
      }
      throw NotFoundError(where + ": " + kind + " '" + path.string() +
                          "' does not exist; add it, or set SegmentationReadOptions::skip_missing to leave out "
                          "images without labels");
    }
    records_.push_back(SegmentationRecord{.image = image, .mask = mask});
  }

  SegmentationDataset finish(std::vector<std::string> class_names) {
    if (skipped_ > 0) {
      spdlog::warn("segmentation data '{}': left out {} image(s) whose image or label file is missing (skip_missing)",
                   source_, skipped_);
    }
    if (records_.empty() && skipped_ > 0) {
      throw ConfigError("segmentation data '" + source_ + "': none of its " + std::to_string(skipped_) +
                        " images has both files; check the folders");
    }
    return SegmentationDataset{.records = std::move(records_),
                               .class_names = std::move(class_names),
                               .ignore_index = options_.ignore_index,
                               .source = source_};
  }

 private:
  const SegmentationReadOptions& options_;
  std::string source_;
  std::vector<SegmentationRecord> records_;
  std::size_t skipped_ = 0;
};

void require_folder(const fs::path& folder, const std::string& what, const std::string& expected) {
  std::error_code error;
  if (!fs::is_directory(folder, error)) {
    throw NotFoundError(what + " '" + folder.string() + "' does not exist or is not a folder; " + expected);
  }
}

[[noreturn]] void missing_split(const std::string& what, const fs::path& path, const std::string& split,
                                const std::vector<std::string>& present) {
  const auto hint = did_you_mean(split, present);
  throw NotFoundError(what + " '" + path.string() + "' for split '" + split + "' does not exist" +
                      (hint ? " (did you mean '" + *hint + "'?)" : std::string()) +
                      "; splits present: " + join_names(present));
}

}  // namespace

const std::vector<std::string>& voc_segmentation_classes() {
  static const std::vector<std::string> names = {
      "background", "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",
      "car",        "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",
      "motorbike",  "person",    "pottedplant", "sheep", "sofa",     "train",  "tvmonitor"};
  return names;
}

const std::vector<std::string>& cityscapes_segmentation_classes() {
  static const std::vector<std::string> names = {
      "road",       "sidewalk", "building", "wall",   "fence", "pole",  "traffic light", "traffic sign",
      "vegetation", "terrain",  "sky",      "person", "rider", "car",   "truck",         "bus",
      "train",      "motorcycle", "bicycle"};
  return names;
}

SegmentationDataset read_png_segmentation(const fs::path& images_dir, const fs::path& masks_dir,
                                          const SegmentationReadOptions& options) {
  const std::string reader = "read_png_segmentation('" + images_dir.string() + "')";
  auto names = class_names_of(options, {}, reader);
  const auto shared = label_values_mask(options, names.size(), reader);
  const std::string layout = "expected images in <images_dir>/**/<name>.<ext> and their masks in "
                             "<masks_dir>/**/<name>.png";
  require_folder(images_dir, "segmentation images folder", layout);
  require_folder(masks_dir, "segmentation masks folder", layout);

  const auto& known = image_extensions();
  const auto images = list_files(images_dir, "segmentation images folder", [&](const fs::path& path) {
    return std::find(known.begin(), known.end(), lower(path.extension().string())) != known.end();
  });
  if (images.empty()) {
    throw ConfigError("segmentation images folder '" + images_dir.string() + "' has no images (" +
                      join_names(known) + ")");
  }
  RecordCollector records(options, images_dir.string());
  std::unordered_map<std::string, fs::path> image_of_mask;  // two images with one stem would share a mask
  for (const auto& image : images) {
    SegmentationMask mask = shared;
    mask.path = (masks_dir / image.lexically_relative(images_dir)).replace_extension(".png");
    const auto [other, added] = image_of_mask.emplace(mask.path.string(), image);
    if (!added) {
      throw ConfigError("segmentation images '" + other->second.string() + "' and '" + image.string() +
                        "' have the same name, so both would take the mask '" + mask.path.string() +
                        "'; rename one of them");
    }
    records.add(image, mask, "segmentation image '" + image.string() + "'");
  }
  return records.finish(std::move(names));
}

SegmentationDataset read_voc_segmentation(const fs::path& root, const std::string& split,
                                          const SegmentationReadOptions& options) {
  const std::string reader = "read_voc_segmentation('" + root.string() + "')";
  auto names = class_names_of(options, voc_segmentation_classes(), reader);
  SegmentationMask shared;
  shared.encoding = MaskEncoding::voc_palette;
  if (!options.class_mapping.empty()) {
    shared.value_to_class = std::make_shared<const std::vector<std::uint8_t>>(
        mapping_table(options, names.size(), 255, "VOC palette index", reader));
  } else {
    // Palette index i is class i; the border (255) and indices VOC never uses are ignored.
    std::vector<std::uint8_t> table(256, options.ignore_index);
    for (std::size_t i = 0; i < names.size(); ++i) table[i] = static_cast<std::uint8_t>(i);
    shared.value_to_class = std::make_shared<const std::vector<std::uint8_t>>(std::move(table));
  }

  const fs::path sets = root / "ImageSets" / "Segmentation";
  const fs::path list = sets / (split + ".txt");
  if (!is_file(list)) {
    require_folder(sets, "VOC split folder",
                   "expected the VOC2012 layout <root>/ImageSets/Segmentation/<split>.txt, <root>/JPEGImages/<id>.jpg "
                   "and <root>/SegmentationClass/<id>.png");
    missing_split("VOC split list", list, split, entries_of(sets, true));
  }
  const std::string what = "VOC split list '" + list.string() + "'";
  std::istringstream lines(read_bounded(list, "VOC split list", options));
  RecordCollector records(options, list.string());
  std::unordered_map<std::string, std::size_t> line_of;
  std::string line;
  for (std::size_t number = 1; std::getline(lines, line); ++number) {
    const auto id = trimmed(line);
    if (id.empty()) continue;
    const std::string at = what + " line " + std::to_string(number);
    if (id.find_first_of(" \t") != std::string::npos) {
      throw FormatError(at + ": '" + id + "' is not an image id; the list holds one id (file name without "
                        "extension) per line");
    }
    if (const auto [first, added] = line_of.emplace(id, number); !added) {
      throw FormatError(at + ": id '" + id + "' is listed again (first on line " + std::to_string(first->second) +
                        "); list each image once");
    }
    SegmentationMask mask = shared;
    mask.path = root / "SegmentationClass" / (id + ".png");
    records.add(root / "JPEGImages" / (id + ".jpg"), mask, at);
  }
  if (line_of.empty()) throw ConfigError(what + " lists no image ids");
  return records.finish(std::move(names));
}

SegmentationDataset read_cityscapes_segmentation(const fs::path& root, const std::string& split,
                                                 const SegmentationReadOptions& options) {
  const std::string reader = "read_cityscapes_segmentation('" + root.string() + "')";
  auto names = class_names_of(options, cityscapes_segmentation_classes(), reader);
  SegmentationMask shared;
  shared.encoding = MaskEncoding::label_values;
  if (!options.class_mapping.empty()) {
    shared.value_to_class = std::make_shared<const std::vector<std::uint8_t>>(
        mapping_table(options, names.size(), 255, "Cityscapes labelId", reader));
  } else {
    // labelId → trainId (cityscapesScripts' labels.py); 255 where the label is not one of the 19 train classes.
    constexpr std::array<std::uint8_t, 34> kTrainId = {
        255, 255, 255, 255, 255, 255, 255, 0,  1,  255, 255, 2,  3,  4,   255, 255, 255,
        5,   255, 6,   7,   8,   9,   10,  11, 12, 13,  14,  15, 255, 255, 16,  17,  18};
    std::vector<std::uint8_t> table(kTrainId.size());
    for (std::size_t id = 0; id < table.size(); ++id) {
      // A trainId the caller's class list does not reach is ignored too.
      table[id] = kTrainId[id] < names.size() ? kTrainId[id] : options.ignore_index;
    }
    shared.value_to_class = std::make_shared<const std::vector<std::uint8_t>>(std::move(table));
    shared.reject_values_beyond_table = true;  // ids stop at 33: more is not a labelIds image
  }

  const fs::path images_dir = root / "leftImg8bit" / split;
  const fs::path labels_dir = root / "gtFine" / split;
  const std::string layout = "expected the Cityscapes layout <root>/leftImg8bit/<split>/<city>/*_leftImg8bit.png "
                             "with <root>/gtFine/<split>/<city>/*_gtFine_labelIds.png";
  std::error_code error;
  if (!fs::is_directory(images_dir, error)) {
    require_folder(root / "leftImg8bit", "Cityscapes images folder", layout);
    missing_split("Cityscapes images folder", images_dir, split, entries_of(root / "leftImg8bit", false));
  }
  require_folder(labels_dir, "Cityscapes labels folder", layout);
  constexpr std::string_view kImageSuffix = "_leftImg8bit.png";
  const auto images = list_files(images_dir, "Cityscapes images folder", [&](const fs::path& path) {
    return path.filename().string().ends_with(kImageSuffix);
  });
  if (images.empty()) {
    throw ConfigError("Cityscapes images folder '" + images_dir.string() + "' has no *_leftImg8bit.png images; " +
                      layout);
  }
  RecordCollector records(options, images_dir.string());
  for (const auto& image : images) {
    auto name = image.filename().string();
    name.resize(name.size() - kImageSuffix.size());
    SegmentationMask mask = shared;
    mask.path = labels_dir / image.parent_path().lexically_relative(images_dir) / (name + "_gtFine_labelIds.png");
    records.add(image, mask, "Cityscapes image '" + image.string() + "'");
  }
  return records.finish(std::move(names));
}

SegmentationDataset read_coco_panoptic_segmentation(const fs::path& annotation_json, const fs::path& images_dir,
                                                    const fs::path& panoptic_dir,
                                                    const SegmentationReadOptions& options) {
  const data::CocoJson r(annotation_json, "COCO panoptic annotations");
  const auto root_value = r.parse(options.max_file_bytes, "SegmentationReadOptions::max_file_bytes");
  const auto& root = r.object_of(root_value, "the top level");

  std::map<std::int64_t, std::string> categories;  // ascending ids become classes 0, 1, …
  for (const auto& value : r.array_at(root, "categories", "the top level")) {
    const auto& c = r.object_of(value, "a category");
    const auto id = r.integer_at(c, "id", "a category");
    const std::string where = "category " + std::to_string(id);
    if (!categories.emplace(id, r.string_at(c, "name", where)).second) r.fail(where + " is listed twice");
  }
  if (categories.empty()) r.fail("'categories' is empty; a panoptic file lists the categories its segments use");
  std::vector<std::string> category_names;
  for (const auto& [id, name] : categories) category_names.push_back(name);
  const std::string reader = "read_coco_panoptic_segmentation('" + annotation_json.string() + "')";
  auto names = class_names_of(options, category_names, reader);
  std::unordered_map<std::int64_t, std::uint8_t> class_of_category;
  if (!options.class_mapping.empty()) {
    check_mapping(options, names.size(), INT64_MAX, "category id", reader);
    for (const auto& [id, label] : options.class_mapping) {
      if (!categories.contains(id)) {
        throw ConfigError(reader + ": SegmentationReadOptions::class_mapping maps category id " + std::to_string(id) +
                          ", which is not in 'categories'; map the file's category ids");
      }
      class_of_category[id] = static_cast<std::uint8_t>(label);
    }
  } else {
    if (categories.size() != names.size()) {
      throw ConfigError(reader + ": the file has " + std::to_string(categories.size()) + " categories but " +
                        std::to_string(names.size()) +
                        " class names are given; give one name per category, or a class_mapping");
    }
    std::uint8_t label = 0;
    for (const auto& [id, name] : categories) class_of_category[id] = label++;
  }

  std::unordered_map<std::int64_t, std::string> image_file_of;
  for (const auto& value : r.array_at(root, "images", "the top level")) {
    const auto& image = r.object_of(value, "an image");
    const auto id = r.integer_at(image, "id", "an image");
    const std::string where = "image " + std::to_string(id);
    if (!image_file_of.emplace(id, r.string_at(image, "file_name", where)).second) r.fail(where + " is listed twice");
  }

  RecordCollector records(options, annotation_json.string());
  std::set<std::int64_t> annotated;
  for (const auto& value : r.array_at(root, "annotations", "the top level")) {
    const auto& a = r.object_of(value, "an annotation");
    const auto image_id = r.integer_at(a, "image_id", "an annotation");
    const std::string where = "the annotation of image " + std::to_string(image_id);
    const auto image = image_file_of.find(image_id);
    if (image == image_file_of.end()) r.fail(where + ": image_id " + std::to_string(image_id) + " is not in 'images'");
    if (!annotated.insert(image_id).second) r.fail(where + " is given twice");
    SegmentationMask mask;
    mask.encoding = MaskEncoding::panoptic_rgb;
    mask.path = panoptic_dir / r.string_at(a, "file_name", where);
    auto segments = std::make_shared<std::unordered_map<std::uint32_t, std::uint8_t>>();
    for (const auto& segment_value : r.array_at(a, "segments_info", where)) {
      const auto& segment = r.object_of(segment_value, where + ", a segment");
      const auto id = r.integer_at(segment, "id", where + ", a segment");
      const std::string at = where + ", segment " + std::to_string(id);
      if (id < 1 || id > kMaxSegmentId) {
        r.fail(at + ": segment ids are 1 to " + std::to_string(kMaxSegmentId) +
               " (R + 256 G + 65536 B of the PNG; 0 is unlabelled)");
      }
      const auto category = r.integer_at(segment, "category_id", at);
      if (!categories.contains(category)) {
        r.fail(at + ": category_id " + std::to_string(category) + " is not in 'categories'");
      }
      const auto label = class_of_category.find(category);
      const auto segment_id = static_cast<std::uint32_t>(id);
      if (segments->contains(segment_id)) r.fail(at + " is given twice");
      (*segments)[segment_id] = label == class_of_category.end() ? options.ignore_index : label->second;
    }
    mask.segment_classes = std::move(segments);
    records.add(images_dir / image->second, mask,
                "COCO panoptic annotations '" + annotation_json.string() + "', " + where);
  }
  return records.finish(std::move(names));
}

SegmentationDataset read_csv_segmentation(const fs::path& csv, const fs::path& image_root,
                                          const SegmentationReadOptions& options) {
  const std::string file = "segmentation CSV '" + csv.string() + "'";
  const std::string reader = "read_csv_segmentation('" + csv.string() + "')";
  auto names = class_names_of(options, {}, reader);
  const auto shared = label_values_mask(options, names.size(), reader);
  std::error_code size_error;  // an unreadable file is read_csv's to report
  if (const auto size = fs::file_size(csv, size_error); !size_error && size > options.max_file_bytes) {
    throw FormatError(file + " is " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(options.max_file_bytes) +
                      "; raise SegmentationReadOptions::max_file_bytes if the file is right");
  }
  const auto table = data::read_csv(csv);
  const int image_column = data::column_index(table, "image"), mask_column = data::column_index(table, "mask");
  if (image_column < 0 || mask_column < 0) {
    std::vector<std::string> missing;
    if (image_column < 0) missing.push_back("'image'");
    if (mask_column < 0) missing.push_back("'mask'");
    throw FormatError(file + ": missing column" + (missing.size() > 1 ? "s " : " ") + join_names(missing) +
                      "; expected a header naming image,mask (any order, other columns ignored), got: " +
                      join_names(table.header));
  }
  if (table.rows.empty()) throw ConfigError(file + " has a header but no rows");

  const fs::path root = image_root.empty() ? csv.parent_path() : image_root;
  const auto resolved = [&](const std::string& text) {
    const fs::path path(text);
    return path.is_absolute() ? path : root / path;
  };
  RecordCollector records(options, csv.string());
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    const std::string line = file + " line " + std::to_string(table.line_numbers[r]);
    for (const auto& [column, name] : {std::pair{image_column, "image"}, std::pair{mask_column, "mask"}}) {
      if (row[static_cast<std::size_t>(column)].empty()) {
        throw FormatError(line + ", column '" + name + "': the path is empty");
      }
    }
    SegmentationMask mask = shared;
    mask.path = resolved(row[static_cast<std::size_t>(mask_column)]);
    records.add(resolved(row[static_cast<std::size_t>(image_column)]), mask, line);
  }
  return records.finish(std::move(names));
}

}  // namespace autotimm
