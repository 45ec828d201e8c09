#include "autotimm/data/image_data_module.hpp"

#include <cmath>

#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "data_module_checks.hpp"
#include "autotimm/pretrained_cfg.hpp"
#include "autotimm/pretrained_cfg_json.hpp"

namespace autotimm {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kSplitStream = ~std::uint64_t{2};

/// `<dir>/<stem>` or `<dir>/<stem>.gz`, whichever exists (empty when neither).
fs::path idx_file(const fs::path& dir, const std::string& stem) {
  for (const fs::path& candidate : {dir / (stem + ".gz"), dir / stem}) {
    if (fs::is_regular_file(candidate)) return candidate;
  }
  return {};
}

std::string detect_format(const ImageDataOptions& options) {
  if (options.format != "auto") return options.format;
  if (!options.train_csv.empty()) return "csv";
  if (fs::is_directory(options.data_dir / "train")) return "folder";
  if (!idx_file(options.data_dir, "train-images-idx3-ubyte").empty()) return "idx";
  throw ConfigError("cannot tell the dataset layout of '" + options.data_dir.string() +
                    "': expected a train/ folder (one sub-folder per class), MNIST-style IDX files "
                    "(train-images-idx3-ubyte.gz), or train_csv; set format to folder, csv or idx");
}

}  // namespace

ImageDataOptions ImageDataOptions::from(const Config& config) {
  ImageDataOptions o;
  o.data_dir = config.get<std::string>("data_dir", "");
  o.format = config.get("format", o.format);
  o.train_csv = config.get<std::string>("train_csv", "");
  o.val_csv = config.get<std::string>("val_csv", "");
  o.test_csv = config.get<std::string>("test_csv", "");
  o.image_dir = config.get<std::string>("image_dir", "");
  o.multi_label = config.get("multi_label", o.multi_label);
  o.class_names = config.get("class_names", o.class_names);
  o.image_size = config.get("image_size", o.image_size);
  if (config.contains("data_config")) {
    const auto& value = config.raw("data_config");  // read whole: its keys are pretrained_cfg fields
    if (!value.is_object()) throw ConfigError(config.where("data_config") + ": expected an object");
    o.data_config = data_config_from_json(value.as_object(), config.where("data_config"));
  }
  o.train_transforms = config.get("train_transforms", o.train_transforms);
  if (config.contains("transforms")) {
    const auto& list = config.raw("transforms");
    if (!list.is_array()) throw ConfigError("'transforms' in " + config.source() + " must be a list of objects");
    o.transforms = list.as_array();
  }
  o.batch_size = config.get("batch_size", o.batch_size);
  o.num_workers = config.get("num_workers", o.num_workers);
  o.val_split = config.get("val_split", o.val_split);
  o.seed = static_cast<std::uint64_t>(config.get<std::int64_t>("seed", static_cast<std::int64_t>(o.seed)));
  o.balanced_sampling = config.get("balanced_sampling", o.balanced_sampling);
  o.strict_data = config.get("strict_data", o.strict_data);
  return o;
}

ImageDataModule::ImageDataModule(ImageDataOptions options) : options_(std::move(options)) {
  const std::vector<std::string> formats = {"auto", "folder", "csv", "idx"};
  if (std::find(formats.begin(), formats.end(), options_.format) == formats.end()) {
    throw ConfigError("unknown data format '" + options_.format + "'; expected " + join_names(formats));
  }
  if (!(options_.val_split >= 0.0 && options_.val_split < 1.0)) {
    throw ConfigError("val_split must be within [0, 1), got " + std::to_string(options_.val_split));
  }
  if (options_.image_size <= 0) throw ConfigError("image_size must be positive");
  if (options_.multi_label && options_.balanced_sampling) {
    throw ConfigError("balanced_sampling needs single-label data; it cannot be used with multi_label");
  }
  if (options_.transforms.empty()) {
    const auto presets = train_presets();
    if (std::find(presets.begin(), presets.end(), options_.train_transforms) == presets.end()) {
      train_transform();  // throws the preset error with its suggestions
    }
  }
}

MultiLabelImageDataModule::MultiLabelImageDataModule(ImageDataOptions options)
    : ImageDataModule([&] {
        options.multi_label = true;
        if (options.format == "auto") options.format = "csv";
        if (options.format != "csv") throw ConfigError("multi-label data is read from CSVs; format must be csv");
        return std::move(options);
      }()) {}

void ImageDataModule::setup() {
  if (ready_) return;
  const std::string format = detect_format(options_);
  ImageDataset train, val, test;
  bool has_val = false, has_test = false;
  if (format == "folder") {
    train = read_image_folder(options_.data_dir / "train");
    if (fs::is_directory(options_.data_dir / "val")) {
      val = read_image_folder(options_.data_dir / "val", train.class_names);
      has_val = true;
    }
    if (fs::is_directory(options_.data_dir / "test")) {
      test = read_image_folder(options_.data_dir / "test", train.class_names);
      has_test = true;
    }
  } else if (format == "csv") {
    if (options_.train_csv.empty()) throw ConfigError("format csv needs train_csv");
    const auto read = [&](const fs::path& csv, const std::vector<std::string>& names) {
      const fs::path path = csv.is_absolute() || options_.data_dir.empty() ? csv : options_.data_dir / csv;
      return options_.multi_label ? read_multi_label_csv(path, options_.image_dir)
                                  : read_image_csv(path, options_.image_dir, names);
    };
    train = read(options_.train_csv, {});
    if (!options_.val_csv.empty()) {
      val = read(options_.val_csv, train.class_names);
      has_val = true;
    }
    if (!options_.test_csv.empty()) {
      test = read(options_.test_csv, train.class_names);
      has_test = true;
    }
    if (options_.multi_label) {
      for (const ImageDataset* other : {&val, &test}) {
        if (!other->items.empty() && other->class_names != train.class_names) {
          throw ConfigError("the label columns of '" + other->source + "' differ from train's: " +
                            join_names(other->class_names) + " vs " + join_names(train.class_names));
        }
      }
    }
  } else {
    const auto images = idx_file(options_.data_dir, "train-images-idx3-ubyte");
    const auto labels = idx_file(options_.data_dir, "train-labels-idx1-ubyte");
    if (images.empty() || labels.empty()) {
      throw NotFoundError("no IDX training files in '" + options_.data_dir.string() +
                          "': expected train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]");
    }
    train = read_idx(images, labels, options_.class_names);
    const auto test_images = idx_file(options_.data_dir, "t10k-images-idx3-ubyte");
    const auto test_labels = idx_file(options_.data_dir, "t10k-labels-idx1-ubyte");
    if (!test_images.empty() && !test_labels.empty()) {
      test = read_idx(test_images, test_labels, options_.class_names);
      has_test = true;
    }
  }
  if (!has_val) {
    // A seeded split of train; the val part is evaluated with the eval transform like any val set.
    std::vector<std::size_t> order(train.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    SampleRng rng(options_.seed, 0, kSplitStream);
    rng.shuffle(order);
    auto val_count = static_cast<std::size_t>(std::llround(options_.val_split * static_cast<double>(order.size())));
    if (options_.val_split > 0.0 && val_count == 0 && order.size() > 1) val_count = 1;
    if (val_count >= order.size()) {
      throw ConfigError("val_split " + std::to_string(options_.val_split) + " leaves no training images out of " +
                        std::to_string(order.size()));
    }
    std::vector<std::size_t> val_items(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(val_count));
    std::vector<std::size_t> train_items(order.begin() + static_cast<std::ptrdiff_t>(val_count), order.end());
    std::sort(val_items.begin(), val_items.end());
    std::sort(train_items.begin(), train_items.end());
    val = train.subset(val_items);
    train = train.subset(train_items);
  }
  train_ = std::make_shared<const ImageDataset>(std::move(train));
  val_ = std::make_shared<const ImageDataset>(std::move(val));
  if (has_test) test_ = std::make_shared<const ImageDataset>(std::move(test));
  ready_ = true;
}

void ImageDataModule::set_data_config(const DataConfig& config) { options_.data_config = config; }

const std::vector<std::string>& ImageDataModule::class_names() {
  setup();
  return train_->class_names;
}

std::int64_t ImageDataModule::num_classes() { return static_cast<std::int64_t>(class_names().size()); }

std::shared_ptr<const ImageDataset> ImageDataModule::train_dataset() {
  setup();
  return train_;
}
std::shared_ptr<const ImageDataset> ImageDataModule::val_dataset() {
  setup();
  return val_;
}
std::shared_ptr<const ImageDataset> ImageDataModule::test_dataset() {
  setup();
  return test_;
}

DataConfig ImageDataModule::data_config() const {
  if (options_.data_config) return *options_.data_config;
  DataConfig config;
  config.input_size = {3, options_.image_size, options_.image_size};
  return config;
}

TransformPtr ImageDataModule::train_transform() const {
  if (!options_.transforms.empty()) return make_transforms(options_.transforms, "transforms");
  return autotimm::train_transform(options_.train_transforms, data_config());
}

TransformPtr ImageDataModule::eval_transform() const { return autotimm::eval_transform(data_config()); }

LoaderOptions ImageDataModule::loader_options(bool training) const {
  const DataConfig config = data_config();
  return LoaderOptions{.batch_size = options_.batch_size,
                       .shuffle = training,
                       .drop_last = false,
                       .num_workers = options_.num_workers,
                       .seed = options_.seed,
                       .strict_data = options_.strict_data,
                       .mean = config.mean,
                       .std = config.std,
                       .balanced = training && options_.balanced_sampling,
                       .shard_index = options_.shard_index,
                       .num_shards = options_.num_shards};
}

DataLoader ImageDataModule::train_loader() {
  setup();
  return DataLoader(train_, train_transform(), loader_options(true));
}

DataLoader ImageDataModule::val_loader() {
  setup();
  if (val_->size() == 0) throw ConfigError("there is no validation data: add a val set or set val_split > 0");
  return DataLoader(val_, eval_transform(), loader_options(false));
}

std::optional<DataLoader> ImageDataModule::validation_loader() {
  setup();
  if (val_->size() == 0) return std::nullopt;
  return DataLoader(val_, eval_transform(), loader_options(false));
}

void ImageDataModule::set_batch_size(std::int64_t batch_size) {
  data::check_batch_size(batch_size);
  options_.batch_size = batch_size;
}

void ImageDataModule::set_shard(int index, int count) {
  data::check_shard(index, count);
  options_.shard_index = index;
  options_.num_shards = count;
}

boost::json::object ImageDataModule::hparams() const {
  boost::json::object json;
  json["data_dir"] = options_.data_dir.string();
  json["format"] = options_.format;
  if (!options_.train_csv.empty()) json["train_csv"] = options_.train_csv.string();
  if (!options_.val_csv.empty()) json["val_csv"] = options_.val_csv.string();
  if (!options_.test_csv.empty()) json["test_csv"] = options_.test_csv.string();
  if (!options_.image_dir.empty()) json["image_dir"] = options_.image_dir.string();
  json["multi_label"] = options_.multi_label;
  json["image_size"] = options_.image_size;
  json["data_config"] = data_config_to_json(data_config());
  if (options_.transforms.empty()) {
    json["train_transforms"] = options_.train_transforms;
  } else {
    json["transforms"] = options_.transforms;
  }
  json["batch_size"] = options_.batch_size;
  json["num_workers"] = options_.num_workers;
  json["val_split"] = options_.val_split;
  json["seed"] = options_.seed;
  json["balanced_sampling"] = options_.balanced_sampling;
  json["strict_data"] = options_.strict_data;
  return json;
}

std::optional<DataLoader> ImageDataModule::test_loader() {
  setup();
  if (!test_) return std::nullopt;
  return DataLoader(test_, eval_transform(), loader_options(false));
}

}  // namespace autotimm
