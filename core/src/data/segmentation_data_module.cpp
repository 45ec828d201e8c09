#include "autotimm/data/segmentation_data_module.hpp"

#include <algorithm>
#include <functional>
#include <optional>

#include <boost/json.hpp>

#include "autotimm/data/segmentation_readers.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "dense_options.hpp"

namespace autotimm {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kFormats = {"auto", "png", "voc", "cityscapes", "coco", "csv"};

std::string detect_format(const SegmentationDataOptions& options) {
  if (options.format != "auto") return options.format;
  const fs::path& root = options.data_dir;
  if (!options.train_csv.empty()) return "csv";
  if (!options.train_annotations.empty()) return "coco";
  if (fs::is_directory(root / "ImageSets" / "Segmentation")) return "voc";
  if (fs::is_directory(root / "leftImg8bit")) return "cityscapes";
  if (fs::is_directory(root / "masks") || !options.train_masks.empty()) return "png";
  throw ConfigError("cannot tell the segmentation dataset layout of '" + root.string() +
                    "': expected images/ with masks/ (png), ImageSets/Segmentation (voc), leftImg8bit/ "
                    "(cityscapes), train_annotations (coco) or train_csv (csv); set format");
}

}  // namespace

SegmentationDataOptions SegmentationDataOptions::from(const Config& config) {
  SegmentationDataOptions o;
  const auto path = [&](std::string_view key) { return fs::path(config.get<std::string>(key, "")); };
  o.data_dir = path("data_dir");
  o.format = config.get("format", o.format);
  o.train_images = path("train_images");
  o.val_images = path("val_images");
  o.test_images = path("test_images");
  o.train_masks = path("train_masks");
  o.val_masks = path("val_masks");
  o.test_masks = path("test_masks");
  o.train_annotations = path("train_annotations");
  o.val_annotations = path("val_annotations");
  o.test_annotations = path("test_annotations");
  o.train_csv = path("train_csv");
  o.val_csv = path("val_csv");
  o.test_csv = path("test_csv");
  o.image_dir = path("image_dir");
  o.class_names = config.get("class_names", o.class_names);
  o.num_classes = config.get("num_classes", o.num_classes);
  if (config.contains("class_mapping")) {
    const auto& value = config.raw("class_mapping");
    if (!value.is_object()) {
      throw ConfigError(config.where("class_mapping") + " must be an object {\"raw value\": class index, ...}");
    }
    for (const auto& [key, target] : value.as_object()) {
      std::int64_t raw = 0;
      try {
        std::size_t used = 0;
        raw = std::stoll(std::string(key), &used);
        if (used != key.size()) throw std::invalid_argument("trailing text");
      } catch (const std::exception&) {
        throw ConfigError(config.where("class_mapping") + ": key '" + std::string(key) + "' is not an integer value");
      }
      if (!target.is_int64()) {
        throw ConfigError(config.where("class_mapping") + ": value of '" + std::string(key) + "' must be an integer");
      }
      o.class_mapping[raw] = target.as_int64();
    }
  }
  o.ignore_index = config.get("ignore_index", o.ignore_index);
  o.skip_missing = config.get("skip_missing", o.skip_missing);
  data::read_loading(config, o);
  return o;
}

ImageDataset segmentation_dataset(const SegmentationDataset& data) {
  ImageDataset out;
  out.segmentation = true;
  out.class_names = data.class_names;
  out.ignore_index = data.ignore_index;
  out.source = data.source;
  out.items.reserve(data.records.size());
  for (std::size_t i = 0; i < data.records.size(); ++i) {
    out.items.push_back({.path = data.records[i].image,
                         .image_id = static_cast<std::int64_t>(i),
                         .mask = data.records[i].mask});
  }
  return out;
}

SegmentationDataModule::SegmentationDataModule(SegmentationDataOptions options)
    : DenseDataModule(data::loading_of(options)), options_(std::move(options)) {
  if (std::find(kFormats.begin(), kFormats.end(), options_.format) == kFormats.end()) {
    throw ConfigError("unknown segmentation data format '" + options_.format + "'; expected " + join_names(kFormats));
  }
  if (options_.ignore_index < 0 || options_.ignore_index > 255) {
    throw ConfigError("ignore_index must be within 0..255 (label maps are 8-bit), got " +
                      std::to_string(options_.ignore_index));
  }
  if (options_.transforms.empty()) train_transform();  // an unknown preset fails here, with its suggestions
}

TransformPtr SegmentationDataModule::preset_transform(std::string_view preset, const DataConfig& config) const {
  return segmentation_train_transform(preset, config);
}

DenseDataModule::Splits SegmentationDataModule::read_splits() {
  const std::string format = detect_format(options_);
  const fs::path& root = options_.data_dir;
  SegmentationReadOptions read_options{.class_names = options_.class_names,
                                       .num_classes = options_.num_classes,
                                       .class_mapping = options_.class_mapping,
                                       .ignore_index = static_cast<std::uint8_t>(options_.ignore_index),
                                       .skip_missing = options_.skip_missing};
  // Each split: nullopt when absent. Later splits take train's class names, so labels mean the same everywhere.
  std::function<std::optional<SegmentationDataset>(const std::string&, bool)> read;
  const auto pick = [](const fs::path& given, const fs::path& fallback) { return given.empty() ? fallback : given; };
  const auto given = [&](const std::string& split, const fs::path& train, const fs::path& val, const fs::path& test) {
    return split == "train" ? train : split == "val" ? val : test;
  };
  if (format == "png") {
    read = [&](const std::string& split, bool required) -> std::optional<SegmentationDataset> {
      const fs::path images = data::under(root, pick(given(split, options_.train_images, options_.val_images,
                                                           options_.test_images), fs::path("images") / split));
      const fs::path masks = data::under(root, pick(given(split, options_.train_masks, options_.val_masks,
                                                          options_.test_masks), fs::path("masks") / split));
      if (!required && !fs::is_directory(images)) return std::nullopt;
      return read_png_segmentation(images, masks, read_options);
    };
  } else if (format == "voc") {
    read = [&](const std::string& split, bool required) -> std::optional<SegmentationDataset> {
      if (!required && !fs::is_regular_file(root / "ImageSets" / "Segmentation" / (split + ".txt"))) return std::nullopt;
      return read_voc_segmentation(root, split, read_options);
    };
  } else if (format == "cityscapes") {
    read = [&](const std::string& split, bool required) -> std::optional<SegmentationDataset> {
      if (!required && !fs::is_directory(root / "leftImg8bit" / split)) return std::nullopt;
      return read_cityscapes_segmentation(root, split, read_options);
    };
  } else if (format == "coco") {
    read = [&](const std::string& split, bool required) -> std::optional<SegmentationDataset> {
      const fs::path annotations = given(split, options_.train_annotations, options_.val_annotations,
                                         options_.test_annotations);
      if (annotations.empty()) {
        if (required) throw ConfigError("segmentation format coco needs train_annotations (a panoptic JSON)");
        return std::nullopt;
      }
      const fs::path images = given(split, options_.train_images, options_.val_images, options_.test_images);
      const fs::path masks = given(split, options_.train_masks, options_.val_masks, options_.test_masks);
      if (images.empty() || masks.empty()) {
        throw ConfigError("segmentation format coco needs " + split + "_images and " + split +
                          "_masks (the panoptic PNG folder) with " + split + "_annotations");
      }
      return read_coco_panoptic_segmentation(data::under(root, annotations), data::under(root, images),
                                             data::under(root, masks), read_options);
    };
  } else {
    read = [&](const std::string& split, bool required) -> std::optional<SegmentationDataset> {
      const fs::path csv = given(split, options_.train_csv, options_.val_csv, options_.test_csv);
      if (csv.empty()) {
        if (required) throw ConfigError("segmentation format csv needs train_csv");
        return std::nullopt;
      }
      return read_csv_segmentation(data::under(root, csv), options_.image_dir, read_options);
    };
  }
  auto train = read("train", true);
  read_options.class_names = train->class_names;
  read_options.num_classes = 0;
  Splits splits{segmentation_dataset(*train)};
  if (auto val = read("val", false)) splits.val = segmentation_dataset(*val);
  if (auto test = read("test", false)) splits.test = segmentation_dataset(*test);
  return splits;
}

boost::json::object SegmentationDataModule::hparams() const {
  boost::json::object json;
  json["data_dir"] = options_.data_dir.string();
  json["format"] = options_.format;
  const auto add_path = [&](const char* key, const fs::path& value) {
    if (!value.empty()) json[key] = value.string();
  };
  add_path("train_images", options_.train_images);
  add_path("val_images", options_.val_images);
  add_path("test_images", options_.test_images);
  add_path("train_masks", options_.train_masks);
  add_path("val_masks", options_.val_masks);
  add_path("test_masks", options_.test_masks);
  add_path("train_annotations", options_.train_annotations);
  add_path("val_annotations", options_.val_annotations);
  add_path("test_annotations", options_.test_annotations);
  add_path("train_csv", options_.train_csv);
  add_path("val_csv", options_.val_csv);
  add_path("test_csv", options_.test_csv);
  add_path("image_dir", options_.image_dir);
  if (!options_.class_names.empty()) json["class_names"] = boost::json::value_from(options_.class_names);
  if (options_.num_classes > 0) json["num_classes"] = options_.num_classes;
  if (!options_.class_mapping.empty()) {
    boost::json::object mapping;
    for (const auto& [raw, target] : options_.class_mapping) mapping[std::to_string(raw)] = target;
    json["class_mapping"] = std::move(mapping);
  }
  json["ignore_index"] = options_.ignore_index;
  json["skip_missing"] = options_.skip_missing;
  add_loading_hparams(json);
  return json;
}

}  // namespace autotimm
