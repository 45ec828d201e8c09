#include "autotimm/data/detection_data_module.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "autotimm/data/csv_detection.hpp"
#include "autotimm/data/csv_instances.hpp"
#include "autotimm/data/yolo_detection.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "dense_options.hpp"

namespace autotimm {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kFormats = {"auto", "coco", "csv", "yolo"};

std::string detect_format(const DetectionDataOptions& options) {
  if (options.format != "auto") return options.format;
  if (!options.train_csv.empty()) return "csv";
  if (fs::is_directory(options.data_dir / "labels" / "train")) return "yolo";
  if (!options.train_annotations.empty() ||
      fs::is_regular_file(options.data_dir / "annotations" / "instances_train.json")) {
    return "coco";
  }
  throw ConfigError("cannot tell the detection dataset layout of '" + options.data_dir.string() +
                    "': expected annotations/instances_train.json (COCO), labels/train/ (YOLO) or train_csv (CSV); "
                    "set format to coco, yolo or csv");
}

}  // namespace

DetectionDataOptions DetectionDataOptions::from(const Config& config) {
  DetectionDataOptions o;
  const auto path = [&](std::string_view key) { return fs::path(config.get<std::string>(key, "")); };
  o.data_dir = path("data_dir");
  o.format = config.get("format", o.format);
  o.train_annotations = path("train_annotations");
  o.val_annotations = path("val_annotations");
  o.test_annotations = path("test_annotations");
  o.train_images = path("train_images");
  o.val_images = path("val_images");
  o.test_images = path("test_images");
  o.train_csv = path("train_csv");
  o.val_csv = path("val_csv");
  o.test_csv = path("test_csv");
  o.image_dir = path("image_dir");
  o.class_names = config.get("class_names", o.class_names);
  o.min_bbox_area = config.get("min_bbox_area", o.min_bbox_area);
  data::read_loading(config, o);
  return o;
}

ImageDataset detection_dataset(const DetectionDataset& data, const std::string& source, bool instance_masks) {
  ImageDataset out;
  out.detection = true;
  out.instance_masks = instance_masks;
  out.class_names = data.class_names;
  out.source = source;
  out.items.reserve(data.records.size());
  for (const DetectionRecord& record : data.records) {
    DatasetItem item;
    item.path = record.image;
    item.image_id = record.image_id;
    item.width = record.width;
    item.height = record.height;
    item.objects.reserve(record.annotations.size());
    for (const DetectionAnnotation& a : record.annotations) {
      item.objects.push_back({.box = a.box, .label = a.label, .iscrowd = a.iscrowd, .area = a.area});
      if (!instance_masks) continue;
      if (a.segmentation.empty()) {
        throw ConfigError(source + ": annotation " + std::to_string(a.id) + " of '" + record.image.string() +
                          "' has no mask; instance segmentation needs one per object");
      }
      item.instance_masks.push_back(a.segmentation);
    }
    out.items.push_back(std::move(item));
  }
  return out;
}

DetectionDataModule::DetectionDataModule(DetectionDataOptions options) : DetectionDataModule(std::move(options), false) {}

DetectionDataModule::DetectionDataModule(DetectionDataOptions options, bool instance_masks)
    : DenseDataModule(data::loading_of(options)), options_(std::move(options)), instance_masks_(instance_masks) {
  if (std::find(kFormats.begin(), kFormats.end(), options_.format) == kFormats.end()) {
    throw ConfigError("unknown detection data format '" + options_.format + "'; expected " + join_names(kFormats));
  }
  if (!(options_.min_bbox_area >= 0.0)) throw ConfigError("min_bbox_area must be >= 0");
  if (options_.transforms.empty()) train_transform();  // an unknown preset fails here, with its suggestions
}

TransformPtr DetectionDataModule::preset_transform(std::string_view preset, const DataConfig& config) const {
  return detection_train_transform(preset, config);
}

DenseDataModule::Splits DetectionDataModule::read_splits() {
  const std::string format = detect_format(options_);
  if (instance_masks_ && format == "yolo") {
    throw ConfigError("instance segmentation reads COCO annotations (polygons or RLE) or a CSV of mask PNGs, not "
                      "YOLO labels; set format to coco or csv");
  }
  const fs::path& root = options_.data_dir;
  // Each split read with train's classes, so labels mean the same everywhere; nullopt when the split is absent.
  std::optional<DetectionDataset> train, val, test;
  if (format == "coco") {
    const auto read = [&](const fs::path& annotations, const fs::path& images, const std::string& split,
                          bool required) -> std::optional<DetectionDataset> {
      const fs::path file = annotations.empty() ? root / "annotations" / ("instances_" + split + ".json")
                                                : data::under(root, annotations);
      if (!required && annotations.empty() && !fs::exists(file)) return std::nullopt;
      const fs::path folder = images.empty() ? root / "images" / split : data::under(root, images);
      return read_coco_detection(file, folder,
                                 {.min_bbox_area = options_.min_bbox_area, .read_segmentation = instance_masks_});
    };
    train = read(options_.train_annotations, options_.train_images, "train", true);
    val = read(options_.val_annotations, options_.val_images, "val", false);
    test = read(options_.test_annotations, options_.test_images, "test", false);
    for (const auto* other : {&val, &test}) {
      if (*other && (*other)->category_ids != train->category_ids) {
        throw ConfigError("the categories of the evaluation annotations differ from train's (" +
                          join_names(train->class_names) + " vs " + join_names((*other)->class_names) +
                          "); every split must list the same categories");
      }
    }
  } else if (format == "csv") {
    if (options_.train_csv.empty()) throw ConfigError("format csv needs train_csv");
    const auto read = [&](const fs::path& csv, const std::vector<std::string>& names) -> std::optional<DetectionDataset> {
      if (csv.empty()) return std::nullopt;
      if (instance_masks_) return read_csv_instances(data::under(root, csv), options_.image_dir, {.class_names = names});
      return read_csv_detection(data::under(root, csv), options_.image_dir,
                                {.class_names = names, .min_bbox_area = options_.min_bbox_area});
    };
    train = read(options_.train_csv, options_.class_names);
    val = read(options_.val_csv, train->class_names);
    test = read(options_.test_csv, train->class_names);
  } else {
    const auto read = [&](const std::string& split, bool required) -> std::optional<DetectionDataset> {
      if (!required && !fs::is_directory(root / "images" / split)) return std::nullopt;
      return read_yolo_detection(root, split, {.class_names = options_.class_names,
                                               .min_bbox_area = options_.min_bbox_area});
    };
    train = read("train", true);
    val = read("val", false);
    test = read("test", false);
  }
  const auto describe = [&](const std::string& split) { return root.string() + " (" + format + ", " + split + ")"; };
  Splits splits{detection_dataset(*train, describe("train"), instance_masks_)};
  if (val) splits.val = detection_dataset(*val, describe("val"), instance_masks_);
  if (test) splits.test = detection_dataset(*test, describe("test"), instance_masks_);
  return splits;
}

boost::json::object DetectionDataModule::hparams() const {
  boost::json::object json;
  json["data_dir"] = options_.data_dir.string();
  json["format"] = options_.format;
  const auto add_path = [&](const char* key, const fs::path& value) {
    if (!value.empty()) json[key] = value.string();
  };
  add_path("train_annotations", options_.train_annotations);
  add_path("val_annotations", options_.val_annotations);
  add_path("test_annotations", options_.test_annotations);
  add_path("train_images", options_.train_images);
  add_path("val_images", options_.val_images);
  add_path("test_images", options_.test_images);
  add_path("train_csv", options_.train_csv);
  add_path("val_csv", options_.val_csv);
  add_path("test_csv", options_.test_csv);
  add_path("image_dir", options_.image_dir);
  if (!options_.class_names.empty()) json["class_names"] = boost::json::value_from(options_.class_names);
  json["min_bbox_area"] = options_.min_bbox_area;
  add_loading_hparams(json);
  return json;
}

}  // namespace autotimm
