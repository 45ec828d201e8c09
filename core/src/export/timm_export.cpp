// export_timm_folder: an ImageClassifier as timm's Hub folder. The backbone's parameter names already are timm's, so
// the work is the classifier (the task's head becomes the backbone's own classifier keys), the config.json timm
// writes, and publishing the folder only once it is complete and reproduces the model's logits.
#include "autotimm/export/timm_export.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "../backbones/timm_folder.hpp"
#include "autotimm/backbones.hpp"
#include "autotimm/data/transform.hpp"
#include "autotimm/error.hpp"
#include "autotimm/eval_mode_guard.hpp"
#include "autotimm/io/atomic_file.hpp"
#include "autotimm/io/safetensors_torch.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/tasks/image_classifier.hpp"

namespace autotimm {

namespace fs = std::filesystem;

namespace {

// ---- JSON text as Python's json.dump(indent=2) writes it ----

void write_number(std::string& out, double value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, ec == std::errc() ? end : buffer);
  if (!std::isfinite(value)) text = std::isnan(value) ? "NaN" : (value > 0 ? "Infinity" : "-Infinity");
  else if (text.find_first_of(".e") == std::string::npos) text += ".0";  // Python keeps floats recognisable
  out += text;
}

void write_pretty(std::string& out, const boost::json::value& value, int indent) {
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  const std::string close(static_cast<std::size_t>(indent), ' ');
  switch (value.kind()) {
    case boost::json::kind::object: {
      const auto& object = value.get_object();
      if (object.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (const auto& [key, item] : object) {
        if (!first) out += ",\n";
        first = false;
        out += pad + boost::json::serialize(boost::json::string(key)) + ": ";
        write_pretty(out, item, indent + 2);
      }
      out += "\n" + close + "}";
      return;
    }
    case boost::json::kind::array: {
      const auto& array = value.get_array();
      if (array.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (std::size_t i = 0; i < array.size(); ++i) {
        if (i > 0) out += ",\n";
        out += pad;
        write_pretty(out, array[i], indent + 2);
      }
      out += "\n" + close + "]";
      return;
    }
    case boost::json::kind::double_: write_number(out, value.get_double()); return;
    default: out += boost::json::serialize(value); return;
  }
}

// One line, as Python prints it: [0.485, 0.456, 0.406].
std::string inline_json(const boost::json::value& value) {
  if (value.is_double()) {
    std::string out;
    write_number(out, value.get_double());
    return out;
  }
  if (!value.is_array()) return boost::json::serialize(value);
  std::string out = "[";
  for (const auto& item : value.get_array()) out += (out.size() > 1 ? ", " : "") + inline_json(item);
  return out + "]";
}

boost::json::array triple(const std::array<double, 3>& values) {
  boost::json::array out;
  for (const double v : values) out.push_back(v);
  return out;
}

boost::json::array triple(const std::array<std::int64_t, 3>& values) {
  boost::json::array out;
  for (const std::int64_t v : values) out.push_back(v);
  return out;
}

// ---- what the model is ----

std::string architecture_of(const ImageClassifier& model) {
  std::string architecture = model.backbone()->pretrained_cfg().architecture;
  if (architecture.empty()) {
    std::string name = model.options().backbone;
    for (std::string_view prefix : {"hf-hub:", "hf_hub:"}) {
      if (name.starts_with(prefix)) name = name.substr(prefix.size());
    }
    architecture = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
  }
  return architecture.substr(0, architecture.find('.'));  // the tag lives in pretrained_cfg.tag
}

// The family arguments timm needs to rebuild the same model: those of a timm folder the backbone came from, then the
// classifier's backbone_args (which win, as they did when the backbone was built), then the rates it was built with.
boost::json::object model_args_of(const ImageClassifier& model) {
  boost::json::object args;
  const auto& options = model.options();
  std::error_code ec;
  if (fs::is_directory(fs::path(options.backbone), ec)) {
    try {
      args = read_timm_folder(options.backbone).model_args;
    } catch (const Error& error) {
      spdlog::warn("export: cannot read the model_args of the backbone folder '{}': {}", options.backbone, error.what());
    }
  }
  for (const auto& [key, value] : options.backbone_args) args[key] = value;
  if (options.drop_rate) args["drop_rate"] = *options.drop_rate;
  if (options.drop_path_rate) args["drop_path_rate"] = *options.drop_path_rate;
  for (const char* built_here : {"num_classes", "pretrained"}) args.erase(built_here);  // config.json says these
  return args;
}

// timm writes the model's global_pool attribute when it is a string: ViTs ("token") and Swin ("avg") keep one; CNNs
// hold a pooling module instead and write nothing.
std::string global_pool_of(const std::string& architecture, const boost::json::object& model_args) {
  if (const auto* pool = model_args.if_contains("global_pool"); pool != nullptr && pool->is_string()) {
    return std::string(pool->as_string());
  }
  for (std::string_view vit : {"vit_", "deit_", "deit3_", "eva", "beit"}) {
    if (architecture.starts_with(vit)) return "token";
  }
  if (architecture.starts_with("swin")) return "avg";
  return {};
}

// The input size the model takes: the trained preprocessing's, else a fixed-size model's img_size argument (a ViT
// built for 32 px keeps the 224 of its family's cfg otherwise), else the cfg's.
std::array<std::int64_t, 3> input_size_of(const ImageClassifier& model) {
  const PretrainedCfg& cfg = model.backbone()->pretrained_cfg();
  if (const auto data = model.data_config()) return data->input_size;
  const auto args = model_args_of(model);
  if (const auto* img_size = args.if_contains("img_size"); img_size != nullptr && cfg.fixed_input_size) {
    if (img_size->is_int64()) return {cfg.input_size[0], img_size->as_int64(), img_size->as_int64()};
    if (img_size->is_array() && img_size->as_array().size() == 2 && img_size->as_array()[0].is_int64() &&
        img_size->as_array()[1].is_int64()) {
      return {cfg.input_size[0], img_size->as_array()[0].as_int64(), img_size->as_array()[1].as_int64()};
    }
  }
  return cfg.input_size;
}

boost::json::object pretrained_cfg_json_of(const ImageClassifier& model, const TimmExportOptions& options) {
  PretrainedCfg cfg = model.backbone()->pretrained_cfg();
  const auto input_size = input_size_of(model);
  const bool same_size = input_size == cfg.input_size;
  cfg.input_size = input_size;
  std::string interpolation = cfg.interpolation;
  std::string crop_mode = cfg.crop_mode;
  const bool test_sizes = same_size;  // test sizes of another training resolution would mislead
  // The preprocessing the model was trained with wins over the backbone's default.
  if (const auto data = model.data_config()) {
    interpolation = std::string(to_string(data->interpolation));
    cfg.crop_pct = data->crop_pct;
    if (data->crop_mode == "center" || data->crop_mode == "squash" || data->crop_mode == "border") {
      crop_mode = data->crop_mode;
    }
    cfg.mean = data->mean;
    cfg.std = data->std;
  }
  boost::json::object out;
  if (!cfg.tag.empty()) out["tag"] = cfg.tag;
  out["custom_load"] = false;
  out["input_size"] = triple(cfg.input_size);
  if (test_sizes && cfg.test_input_size) out["test_input_size"] = triple(*cfg.test_input_size);
  if (cfg.min_input_size) out["min_input_size"] = triple(*cfg.min_input_size);
  out["fixed_input_size"] = cfg.fixed_input_size;
  out["interpolation"] = interpolation;
  out["crop_pct"] = cfg.crop_pct;
  if (test_sizes && cfg.test_crop_pct) out["test_crop_pct"] = *cfg.test_crop_pct;
  out["crop_mode"] = crop_mode;
  out["mean"] = triple(cfg.mean);
  out["std"] = triple(cfg.std);
  out["num_classes"] = model.num_classes();
  out["pool_size"] = nullptr;  // timm always writes it; we do not track it and timm does not need it to load
  out["first_conv"] = cfg.first_conv.empty() ? boost::json::value(nullptr) : boost::json::value(cfg.first_conv);
  out["classifier"] = cfg.classifier;
  out["license"] = cfg.license.empty() ? options.license : cfg.license;
  if (!cfg.paper.empty()) out["paper_ids"] = cfg.paper;
  if (!cfg.notes.empty()) out["notes"] = cfg.notes;
  return out;
}

std::string model_card(const ImageClassifier& model, const boost::json::object& config, const std::string& title,
                       const std::string& license) {
  const auto& cfg = config.at("pretrained_cfg").as_object();
  std::ostringstream card;
  card << "---\ntags:\n- image-classification\n- timm\n- autotimm\nlibrary_name: timm\nlicense: " << license
       << "\npipeline_tag: image-classification\n---\n\n# " << title << "\n\n"
       << "An image classifier trained with AutoTimm (C++) and exported in timm's format.\n\n"
       << "- Architecture: `" << config.at("architecture").as_string().c_str() << "`\n"
       << "- Classes: " << model.num_classes();
  if (!model.class_names().empty()) {
    card << " (";
    const std::size_t shown = std::min<std::size_t>(model.class_names().size(), 20);
    for (std::size_t i = 0; i < shown; ++i) card << (i ? ", " : "") << model.class_names()[i];
    if (shown < model.class_names().size()) card << ", ...";
    card << ")";
  }
  card << "\n- Input: " << inline_json(cfg.at("input_size")) << ", interpolation "
       << cfg.at("interpolation").as_string().c_str() << ", crop_pct " << inline_json(cfg.at("crop_pct")) << ", mean "
       << inline_json(cfg.at("mean")) << ", std " << inline_json(cfg.at("std")) << "\n";
  if (model.options().multi_label) {
    card << "- Multi-label: apply a sigmoid to the logits (threshold " << model.options().threshold << ")\n";
  }
  card << "\n## Use with timm\n\n```python\nimport timm\n\n"
       << "model = timm.create_model(\"hf-hub:ORG/NAME\", pretrained=True)  # or \"local-dir:/path/to/this/folder\"\n"
       << "model.eval()\ncfg = timm.data.resolve_data_config({}, model=model)\n"
       << "transform = timm.data.create_transform(**cfg)\n```\n";
  return card.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw IoError("cannot write '" + path.string() + "'; check the disk space and permissions");
}

// Logits of the classifier and of the backbone rebuilt from `folder`, on the same seeded input; eval mode, no graph.
double logit_difference(const ImageClassifier& model, const fs::path& folder, const TimmExportOptions& options) {
  auto rebuilt = create_backbone(folder.string(), {}, options.registry);
  const auto& backbone = model.backbone();
  const auto& head = model.head();
  const EvalModeGuard backbone_eval(*backbone), head_eval(*head);
  rebuilt->eval();
  const std::array<std::int64_t, 3> size = input_size_of(model);
  auto generator = at::detail::createCPUGenerator(20240101);
  const auto parameter = backbone->parameters();
  const auto options_of_input = parameter.empty() ? torch::TensorOptions() : parameter.front().options();
  const torch::Tensor input =
      at::randn({2, size[0], size[1], size[2]}, generator, torch::TensorOptions().dtype(torch::kFloat32))
          .to(options_of_input.device());
  torch::NoGradGuard no_grad;
  const torch::Tensor expected = head->forward({backbone->forward(input)}).at(0);
  rebuilt->to(options_of_input.device());
  const torch::Tensor got = rebuilt->forward(input);
  if (got.sizes() != expected.sizes()) {
    throw FormatError("the exported folder gives logits " + c10::str(got.sizes()) + ", the model " +
                      c10::str(expected.sizes()));
  }
  return (got.to(torch::kFloat64) - expected.to(torch::kFloat64)).abs().max().item<double>();
}

fs::path temporary_beside(const fs::path& out) {
  std::random_device device;
  std::ostringstream name;
  name << "." << out.filename().string() << ".export-" << ::getpid() << "-" << std::hex << device();
  return out.parent_path() / name.str();
}

}  // namespace

std::string pretty_json(const boost::json::value& json) {
  std::string out;
  write_pretty(out, json, 0);
  return out;
}

std::map<std::string, at::Tensor> timm_state_dict(const ImageClassifier& model) {
  if (!model.head() || model.num_classes() < 1) {
    throw ConfigError("cannot export the classifier: it has no classes yet; train it (or set num_classes) first");
  }
  const auto& backbone = *model.backbone();
  const std::string classifier = backbone.pretrained_cfg().classifier;
  if (classifier.empty() || classifier.find(',') != std::string::npos) {
    throw ConfigError("cannot export a '" + architecture_of(model) + "' classifier in timm's format: its backbone names " +
                      (classifier.empty() ? std::string("no classifier") : "several classifiers (" + classifier + ")") +
                      " in pretrained_cfg, so timm would not know where the head's weights go");
  }
  // The head must be exactly timm's classifier: one linear layer over the pooled features (dropout has no tensors).
  const auto head_tensors = state_dict(*model.head());
  std::string listing;
  for (const auto& [key, tensor] : head_tensors) {
    listing += (listing.empty() ? "" : ", ") + key + " " + c10::str(tensor.sizes());
  }
  const std::int64_t features = backbone.head_hidden_size();
  const std::int64_t classes = model.num_classes();
  bool linear = head_tensors.size() == 2 && head_tensors[0].first.ends_with("weight") &&
                head_tensors[1].first.ends_with("bias") &&
                head_tensors[0].first.substr(0, head_tensors[0].first.size() - 6) ==
                    head_tensors[1].first.substr(0, head_tensors[1].first.size() - 4);
  linear = linear && head_tensors[0].second.sizes() == torch::IntArrayRef({classes, features}) &&
           head_tensors[1].second.sizes() == torch::IntArrayRef({classes});
  if (!linear) {
    throw ConfigError("cannot export the classifier's head '" + model.options().head +
                      "' as timm's classifier: timm puts one linear layer [" + std::to_string(classes) + ", " +
                      std::to_string(features) + "] after the pooled features, this head holds " +
                      (listing.empty() ? std::string("no tensors") : listing) +
                      "; export needs the 'classification' head without hidden layers");
  }
  std::map<std::string, at::Tensor> tensors;
  for (const auto& [key, tensor] : state_dict(backbone)) tensors[key] = tensor.detach();
  for (const char* suffix : {".weight", ".bias"}) {
    if (tensors.contains(classifier + suffix)) {
      spdlog::debug("export: the headless backbone holds {}{}; the head's replaces it", classifier, suffix);
    }
  }
  tensors[classifier + ".weight"] = head_tensors[0].second.detach();
  tensors[classifier + ".bias"] = head_tensors[1].second.detach();
  return tensors;
}

boost::json::object timm_config_json(const ImageClassifier& model, const TimmExportOptions& options) {
  if (!model.head() || model.num_classes() < 1) {
    throw ConfigError("cannot export the classifier: it has no classes yet; train it (or set num_classes) first");
  }
  const std::string architecture = architecture_of(model);
  const boost::json::object model_args = model_args_of(model);
  boost::json::object config;
  config["architecture"] = architecture;
  config["num_classes"] = model.num_classes();
  config["num_features"] = model.backbone()->num_features();
  if (const std::string pool = global_pool_of(architecture, model_args); !pool.empty()) config["global_pool"] = pool;
  if (!model.class_names().empty()) {
    boost::json::array names;
    for (const auto& name : model.class_names()) names.push_back(boost::json::string(name));
    config["label_names"] = std::move(names);
  }
  if (!model_args.empty()) config["model_args"] = model_args;
  config["pretrained_cfg"] = pretrained_cfg_json_of(model, options);
  return config;
}

TimmExportResult export_timm_folder(const ImageClassifier& model, const fs::path& out_path,
                                    const TimmExportOptions& options) {
  if (out_path.empty()) throw ConfigError("export: the output folder is empty; pass --out DIR");
  const fs::path out = fs::absolute(out_path).lexically_normal();
  const fs::path target = out.filename().empty() ? out.parent_path() : out;  // "dir/" → "dir"
  std::error_code ec;
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec)) {
      throw ConfigError("export: '" + target.string() + "' exists and is not a folder; pass another --out");
    }
    if (!fs::is_empty(target, ec) && !options.overwrite) {
      throw ConfigError("export: the folder '" + target.string() +
                        "' exists and is not empty; pass --overwrite to replace it, or another --out");
    }
  }
  // Everything that can fail on the model comes before any file is written.
  const auto tensors = timm_state_dict(model);
  const boost::json::object config = timm_config_json(model, options);
  const std::string license(config.at("pretrained_cfg").as_object().at("license").as_string());

  const fs::path staging = temporary_beside(target);
  try {
    fs::create_directories(target.parent_path());
    fs::create_directory(staging);
  } catch (const fs::filesystem_error& error) {
    throw IoError("export: cannot create a folder beside '" + target.string() + "': " + error.what() +
                  "; check the permissions of " + target.parent_path().string() + " or pass another --out");
  }
  TimmExportResult result{.folder = target,
                          .architecture = std::string(config.at("architecture").as_string()),
                          .files = {"config.json", "model.safetensors", "README.md"},
                          .tensors = tensors.size(),
                          .classifier = model.backbone()->pretrained_cfg().classifier,
                          .max_logit_difference = -1.0};
  try {
    write_text(staging / "config.json", pretty_json(config) + "\n");
    save_safetensors(staging / "model.safetensors", tensors);
    write_text(staging / "README.md",
               model_card(model, config, options.model_name.empty() ? target.filename().string() : options.model_name,
                          license));
    if (options.verify) {
      result.max_logit_difference = logit_difference(model, staging, options);
      if (!(result.max_logit_difference <= options.tolerance)) {
        throw FormatError("export: the written folder does not reproduce the model: logits differ by up to " +
                          std::to_string(result.max_logit_difference) + " (tolerance " +
                          std::to_string(options.tolerance) + "); nothing was written to '" + target.string() +
                          "'. Please report this with the checkpoint's backbone name");
      }
    }
    // Publish: the old folder (with --overwrite) goes aside first, so `target` is always either old or complete.
    if (fs::exists(target)) {
      const fs::path old = temporary_beside(target);
      fs::rename(target, old);
      fs::rename(staging, target);
      fs::remove_all(old, ec);
    } else {
      fs::rename(staging, target);
    }
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  spdlog::info("export: wrote {} ({} tensors, classifier '{}')", target.string(), result.tensors, result.classifier);
  return result;
}

}  // namespace autotimm
