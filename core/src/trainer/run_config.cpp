#include "autotimm/trainer/run_config.hpp"

#include <boost/json.hpp>

#include "autotimm/data/detection_data_module.hpp"
#include "autotimm/data/image_data_module.hpp"
#include "autotimm/data/instance_segmentation_data_module.hpp"
#include "autotimm/data/segmentation_data_module.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/tasks/instance_segmentor.hpp"
#include "autotimm/tasks/object_detector.hpp"
#include "autotimm/tasks/semantic_segmentor.hpp"

namespace autotimm {

namespace {

/// The "class" of a section, or `fallback`; ConfigError listing `known` otherwise.
std::string class_of(const Config& section, const std::string& fallback, const std::vector<std::string>& known) {
  const std::string name = section.get<std::string>("class", fallback);
  if (std::find(known.begin(), known.end(), name) == known.end()) {
    throw ConfigError(section.where("class") + ": unknown class '" + name + "'; expected " + join_names(known));
  }
  return name;
}

}  // namespace

void apply_override(boost::json::object& root, std::string_view assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    throw ConfigError("override '" + std::string(assignment) + "': expected KEY=VALUE, e.g. trainer.max_epochs=3");
  }
  const std::string path(assignment.substr(0, equals));
  const std::string text(assignment.substr(equals + 1));
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec) value = boost::json::string(text);
  boost::json::object* object = &root;
  std::size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) throw ConfigError("override '" + std::string(assignment) + "': empty key in '" + path + "'");
    if (dot == std::string::npos) {
      (*object)[key] = std::move(value);
      return;
    }
    auto& next = (*object)[key];
    if (next.is_null()) next = boost::json::object();
    if (!next.is_object()) {
      throw ConfigError("override '" + std::string(assignment) + "': '" + path.substr(0, dot) + "' is not an object");
    }
    object = &next.as_object();
    start = dot + 1;
  }
}

RunConfig RunConfig::load(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  const Config file = Config::from_file(path);
  boost::json::object root = file.json();
  for (const auto& assignment : overrides) apply_override(root, assignment);
  return RunConfig(std::move(root), path.string());
}

RunConfig::RunConfig(boost::json::object root, std::string source) : root_(std::move(root), std::move(source)) {
  load_plugins();
}

void RunConfig::load_plugins() const {
  if (!root_.contains("plugins")) return;
  const auto paths = root_.require<std::vector<std::string>>("plugins");
  const std::filesystem::path base = std::filesystem::path(root_.source()).parent_path();
  PluginLoader loader(registry());
  for (const auto& entry : paths) {
    std::filesystem::path path(entry);
    if (path.is_relative() && std::filesystem::exists(root_.source())) path = base / path;
    if (std::filesystem::is_directory(path)) {
      loader.load_directory(path);
      continue;
    }
    if (!std::filesystem::exists(path)) {
      throw NotFoundError(root_.where("plugins") + ": no plugin library or folder '" + path.string() + "'");
    }
    const auto& record = loader.load_library(path);
    if (!record.loaded) throw PluginError(record.error);
  }
}

std::shared_ptr<Task> RunConfig::make_model() const {
  const Config section = root_.section("model");
  if (!root_.contains("model")) throw ConfigError("no 'model' section in " + root_.source());
  const std::string name =
      class_of(section, "ImageClassifier", {"ImageClassifier", "ObjectDetector", "SemanticSegmentor", "InstanceSegmentor"});
  if (name == "ObjectDetector") return std::make_shared<ObjectDetector>(ObjectDetectorOptions::from(section));
  if (name == "InstanceSegmentor") return std::make_shared<InstanceSegmentor>(InstanceSegmentorOptions::from(section));
  if (name == "SemanticSegmentor") return std::make_shared<SemanticSegmentor>(SemanticSegmentorOptions::from(section));
  return std::make_shared<ImageClassifier>(ImageClassifierOptions::from(section));
}

void RunConfig::skip_model() const { root_.accept("model"); }

std::shared_ptr<DataModule> RunConfig::make_data() const {
  if (!root_.contains("data")) throw ConfigError("no 'data' section in " + root_.source());
  const Config section = root_.section("data");
  const std::string name =
      class_of(section, "ImageDataModule",
               {"ImageDataModule", "MultiLabelImageDataModule", "DetectionDataModule", "SegmentationDataModule",
                "InstanceSegmentationDataModule"});
  if (name == "DetectionDataModule") return std::make_shared<DetectionDataModule>(DetectionDataOptions::from(section));
  if (name == "InstanceSegmentationDataModule") {
    return std::make_shared<InstanceSegmentationDataModule>(InstanceSegmentationDataOptions::from(section));
  }
  if (name == "SegmentationDataModule") {
    return std::make_shared<SegmentationDataModule>(SegmentationDataOptions::from(section));
  }
  auto options = ImageDataOptions::from(section);
  if (name == "MultiLabelImageDataModule") return std::make_shared<MultiLabelImageDataModule>(std::move(options));
  return std::make_shared<ImageDataModule>(std::move(options));
}

AutoTrainerOptions RunConfig::trainer_options() const { return AutoTrainerOptions::from(root_.section("trainer")); }

std::string RunConfig::ckpt_path() const { return root_.get<std::string>("ckpt_path", ""); }

}  // namespace autotimm
