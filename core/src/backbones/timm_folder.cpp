#include "timm_folder.hpp"

#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "autotimm/pretrained_cfg_json.hpp"

namespace autotimm {

TimmFolder read_timm_folder(const std::filesystem::path& folder) {
  namespace fs = std::filesystem;
  TimmFolder model;
  model.folder = fs::absolute(folder);
  const fs::path config_path = model.folder / "config.json";
  if (!fs::is_regular_file(config_path)) {
    throw NotFoundError("not a timm model folder: '" + model.folder.string() +
                        "' has no config.json; expected the files timm pushes to the Hub (config.json and "
                        "model.safetensors)");
  }
  const Config config = Config::from_file(config_path);
  const std::string source = config_path.string();
  const boost::json::value& architecture = config.raw("architecture");
  if (!architecture.is_string() || architecture.get_string().empty()) {
    throw FormatError("'architecture' in " + source + ": expected the timm model name as a string");
  }
  model.architecture = std::string(architecture.get_string());
  const boost::json::value& cfg = config.raw("pretrained_cfg");
  if (cfg.is_object()) {
    model.pretrained_cfg = pretrained_cfg_from_json(cfg.get_object(), source);
  } else if (!cfg.is_null()) {
    throw FormatError("'pretrained_cfg' in " + source + ": expected an object");
  }
  model.num_classes = config.get<std::int64_t>("num_classes", model.pretrained_cfg.num_classes);
  const boost::json::value& args = config.raw("model_args");
  if (args.is_object()) {
    model.model_args = args.get_object();
  } else if (!args.is_null()) {
    throw FormatError("'model_args' in " + source + ": expected an object");
  }
  model.label_names = config.get<std::vector<std::string>>("label_names", {});

  if (fs::is_regular_file(model.folder / "model.safetensors")) {
    model.weights = model.folder / "model.safetensors";
  } else if (fs::is_regular_file(model.folder / "pytorch_model.bin")) {
    model.weights = model.folder / "pytorch_model.bin";  // older Hub repos: read without executing anything
  } else {
    throw NotFoundError("no weights in '" + model.folder.string() +
                        "': expected model.safetensors (or pytorch_model.bin)");
  }
  return model;
}

}  // namespace autotimm
