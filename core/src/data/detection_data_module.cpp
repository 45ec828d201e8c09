#include "autotimm/data/detection_data_module.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "autotimm/data/csv_detection.hpp"
#include "autotimm/data/yolo_detection.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "data_module_checks.hpp"

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

/// `path` under data_dir unless absolute (or no data_dir).
fs::path under(const fs::path& data_dir, const fs::path& path) {
  return path.is_absolute() || data_dir.empty() ? path : data_dir / path;
}

std::array<double, 3> triple(const Config& config, std::string_view key, std::array<double, 3> fallback) {
  if (!config.contains(key)) return fallback;
  const auto values = config.require<std::vector<double>>(key);
  if (values.size() != 3) throw ConfigError(config.where(key) + " must be three numbers (r, g, b)");
  return {values[0], values[1], values[2]};
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
  o.image_size = config.get("image_size", o.image_size);
  o.train_transforms = config.get("train_transforms", o.train_transforms);
  if (config.contains("transforms")) {
    const auto& list = config.raw("transforms");
    if (!list.is_array()) throw ConfigError(config.where("transforms") + " must be a list of objects");
    o.transforms = list.as_array();
  }
  o.mean = triple(config, "mean", o.mean);
  o.std = triple(config, "std", o.std);
  o.batch_size = config.get("batch_size", o.batch_size);
  o.num_workers = config.get("num_workers", o.num_workers);
  o.seed = static_cast<std::uint64_t>(config.get<std::int64_t>("seed", static_cast<std::int64_t>(o.seed)));
  o.strict_data = config.get("strict_data", o.strict_data);
  return o;
}

ImageDataset detection_dataset(const DetectionDataset& data, const std::string& source) {
  ImageDataset out;
  out.detection = true;
  out.class_names = data.class_names;
  out.source = source;
  out.items.reserve(data.records.size());
  for (const DetectionRecord& record : data.records) {
    DatasetItem item;
    item.path = record.image;
    item.image_id = record.image_id;
    item.objects.reserve(record.annotations.size());
    for (const DetectionAnnotation& a : record.annotations) {
      item.objects.push_back({.box = a.box, .label = a.label, .iscrowd = a.iscrowd, .area = a.area});
    }
    out.items.push_back(std::move(item));
  }
  return out;
}

DetectionDataModule::DetectionDataModule(DetectionDataOptions options) : options_(std::move(options)) {
  if (std::find(kFormats.begin(), kFormats.end(), options_.format) == kFormats.end()) {
    throw ConfigError("unknown detection data format '" + options_.format + "'; expected " + join_names(kFormats));
  }
  if (options_.image_size < 32 || options_.image_size > 8192) {
    throw ConfigError("image_size must be within 32..8192, got " + std::to_string(options_.image_size));
  }
  data::check_batch_size(options_.batch_size);
  if (!(options_.min_bbox_area >= 0.0)) throw ConfigError("min_bbox_area must be >= 0");
  if (options_.transforms.empty()) train_transform();  // an unknown preset fails here, with its suggestions
}

void DetectionDataModule::setup() {
  if (ready_) return;
  const std::string format = detect_format(options_);
  const fs::path& root = options_.data_dir;
  // Each split read with train's classes, so labels mean the same everywhere; nullopt when the split is absent.
  std::optional<DetectionDataset> train, val, test;
  std::vector<std::string> sources(3);
  if (format == "coco") {
    const auto read = [&](const fs::path& annotations, const fs::path& images, const std::string& split,
                          bool required) -> std::optional<DetectionDataset> {
      const fs::path file = annotations.empty() ? root / "annotations" / ("instances_" + split + ".json")
                                                : under(root, annotations);
      if (!required && annotations.empty() && !fs::exists(file)) return std::nullopt;
      const fs::path folder = images.empty() ? root / "images" / split : under(root, images);
      return read_coco_detection(file, folder, {.min_bbox_area = options_.min_bbox_area});
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
    if (options_.train_csv.empty()) throw ConfigError("detection format csv needs train_csv");
    const auto read = [&](const fs::path& csv, const std::vector<std::string>& names) -> std::optional<DetectionDataset> {
      if (csv.empty()) return std::nullopt;
      return read_csv_detection(under(root, csv), options_.image_dir,
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
  if (train->records.empty()) throw ConfigError("the detection training set " + describe("train") + " has no images");
  train_ = std::make_shared<const ImageDataset>(detection_dataset(*train, describe("train")));
  if (val && !val->records.empty()) val_ = std::make_shared<const ImageDataset>(detection_dataset(*val, describe("val")));
  if (test && !test->records.empty()) {
    test_ = std::make_shared<const ImageDataset>(detection_dataset(*test, describe("test")));
  }
  ready_ = true;
}

const std::vector<std::string>& DetectionDataModule::class_names() {
  setup();
  return train_->class_names;
}

std::shared_ptr<const ImageDataset> DetectionDataModule::train_dataset() {
  setup();
  return train_;
}
std::shared_ptr<const ImageDataset> DetectionDataModule::val_dataset() {
  setup();
  return val_;
}
std::shared_ptr<const ImageDataset> DetectionDataModule::test_dataset() {
  setup();
  return test_;
}

DataConfig DetectionDataModule::data_config() const {
  DataConfig config;
  config.input_size = {3, options_.image_size, options_.image_size};
  config.interpolation = Interpolation::bilinear;
  config.mean = options_.mean;
  config.std = options_.std;
  config.crop_pct = 1.0;
  config.crop_mode = "letterbox";
  return config;
}

void DetectionDataModule::set_normalization(const std::array<double, 3>& mean, const std::array<double, 3>& std) {
  options_.mean = mean;
  options_.std = std;
}

TransformPtr DetectionDataModule::train_transform() const {
  if (!options_.transforms.empty()) return make_transforms(options_.transforms, "transforms");
  return detection_train_transform(options_.train_transforms, data_config());
}

TransformPtr DetectionDataModule::eval_transform() const { return autotimm::eval_transform(data_config()); }

LoaderOptions DetectionDataModule::loader_options(bool training) const {
  return LoaderOptions{.batch_size = options_.batch_size,
                       .shuffle = training,
                       .drop_last = false,
                       .num_workers = options_.num_workers,
                       .seed = options_.seed,
                       .strict_data = options_.strict_data,
                       .mean = options_.mean,
                       .std = options_.std,
                       .shard_index = options_.shard_index,
                       .num_shards = options_.num_shards};
}

DataLoader DetectionDataModule::train_loader() {
  setup();
  return DataLoader(train_, train_transform(), loader_options(true));
}

std::optional<DataLoader> DetectionDataModule::validation_loader() {
  setup();
  if (!val_) return std::nullopt;
  return DataLoader(val_, eval_transform(), loader_options(false));
}

std::optional<DataLoader> DetectionDataModule::test_loader() {
  setup();
  if (!test_) return std::nullopt;
  return DataLoader(test_, eval_transform(), loader_options(false));
}

void DetectionDataModule::set_batch_size(std::int64_t batch_size) {
  data::check_batch_size(batch_size);
  options_.batch_size = batch_size;
}

void DetectionDataModule::set_shard(int index, int count) {
  data::check_shard(index, count);
  options_.shard_index = index;
  options_.num_shards = count;
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
  json["image_size"] = options_.image_size;
  json["data_config"] = data_config_to_json(data_config());
  if (options_.transforms.empty()) {
    json["train_transforms"] = options_.train_transforms;
  } else {
    json["transforms"] = options_.transforms;
  }
  json["batch_size"] = options_.batch_size;
  json["num_workers"] = options_.num_workers;
  json["seed"] = options_.seed;
  json["strict_data"] = options_.strict_data;
  return json;
}

}  // namespace autotimm
