#include "autotimm/pretrained_cfg_json.hpp"

#include <algorithm>

#include "autotimm/error.hpp"

namespace autotimm {
namespace {

class FieldReader {
 public:
  FieldReader(const boost::json::object& json, const std::string& source) : json_(json), source_(source) {}

  const boost::json::value* find(const char* key) const {
    auto it = json_.find(key);
    return it == json_.end() || it->value().is_null() ? nullptr : &it->value();
  }
  [[noreturn]] void wrong(const char* key, const char* expected) const {
    throw FormatError("pretrained_cfg field '" + std::string(key) + "' in " + source_ + ": expected " + expected +
                      "; fix or remove it");
  }
  void string(const char* key, std::string& out) const {
    if (const auto* v = find(key)) {
      if (!v->is_string()) wrong(key, "a string");
      out = std::string(v->get_string());
    }
  }
  double number(const boost::json::value& v, const char* key) const {
    if (v.is_double()) return v.get_double();
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    wrong(key, "a number");
  }
  void number(const char* key, double& out) const {
    if (const auto* v = find(key)) out = number(*v, key);
  }
  void number(const char* key, std::optional<double>& out) const {
    if (const auto* v = find(key)) out = number(*v, key);
  }
  void integer(const char* key, std::int64_t& out) const {
    if (const auto* v = find(key)) {
      if (!v->is_int64()) wrong(key, "an integer");
      out = v->get_int64();
    }
  }
  void boolean(const char* key, bool& out) const {
    if (const auto* v = find(key)) {
      if (!v->is_bool()) wrong(key, "true or false");
      out = v->get_bool();
    }
  }
  template <class T, std::size_t N>
  void triple(const char* key, std::array<T, N>& out) const {
    if (const auto* v = find(key)) {
      // timm writes a single value for mean/std sometimes: repeat it per channel.
      if (!v->is_array()) {
        const double one = number(*v, key);
        out.fill(static_cast<T>(one));
        return;
      }
      const auto& array = v->get_array();
      if (array.size() == 1) {
        out.fill(static_cast<T>(number(array[0], key)));
        return;
      }
      if (array.size() != N) wrong(key, ("an array of " + std::to_string(N) + " numbers").c_str());
      for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<T>(number(array[i], key));
    }
  }
  template <class T, std::size_t N>
  void triple(const char* key, std::optional<std::array<T, N>>& out) const {
    if (find(key)) {
      std::array<T, N> value{};
      triple(key, value);
      out = value;
    }
  }
  // A module name, or timm's tuple of names (DeiT's ["head", "head_dist"]), kept comma-separated.
  void names(const char* key, std::string& out) const {
    const auto* v = find(key);
    if (v == nullptr || v->is_string()) return string(key, out);
    std::vector<std::string> list;
    strings(key, list);
    out.clear();
    for (const auto& name : list) out += (out.empty() ? "" : ",") + name;
  }
  void strings(const char* key, std::vector<std::string>& out) const {
    if (const auto* v = find(key)) {
      if (!v->is_array()) wrong(key, "an array of strings");
      out.clear();
      for (const auto& item : v->get_array()) {
        if (!item.is_string()) wrong(key, "an array of strings");
        out.emplace_back(item.get_string());
      }
    }
  }

 private:
  const boost::json::object& json_;
  const std::string& source_;
};

template <class T, std::size_t N>
boost::json::array to_array(const std::array<T, N>& values) {
  boost::json::array out;
  for (const auto& v : values) out.push_back(v);
  return out;
}

}  // namespace

PretrainedCfg pretrained_cfg_from_json(const boost::json::object& json, const std::string& source) {
  PretrainedCfg cfg;
  FieldReader r(json, source);
  r.string("tag", cfg.tag);
  r.string("hf_hub_id", cfg.hf_hub_id);
  r.string("url", cfg.url);
  r.string("architecture", cfg.architecture);
  r.triple("input_size", cfg.input_size);
  r.triple("test_input_size", cfg.test_input_size);
  r.triple("min_input_size", cfg.min_input_size);
  r.boolean("fixed_input_size", cfg.fixed_input_size);
  r.string("interpolation", cfg.interpolation);
  r.number("crop_pct", cfg.crop_pct);
  r.number("test_crop_pct", cfg.test_crop_pct);
  r.string("crop_mode", cfg.crop_mode);
  r.triple("mean", cfg.mean);
  r.triple("std", cfg.std);
  r.integer("num_classes", cfg.num_classes);
  r.strings("label_names", cfg.label_names);
  r.string("first_conv", cfg.first_conv);
  r.names("classifier", cfg.classifier);
  r.string("license", cfg.license);
  r.string("paper_ids", cfg.paper);
  r.string("notes", cfg.notes);
  return cfg;
}

boost::json::object pretrained_cfg_to_json(const PretrainedCfg& cfg) {
  boost::json::object out;
  if (!cfg.tag.empty()) out["tag"] = cfg.tag;
  if (!cfg.hf_hub_id.empty()) out["hf_hub_id"] = cfg.hf_hub_id;
  if (!cfg.url.empty()) out["url"] = cfg.url;
  if (!cfg.architecture.empty()) out["architecture"] = cfg.architecture;
  out["input_size"] = to_array(cfg.input_size);
  if (cfg.test_input_size) out["test_input_size"] = to_array(*cfg.test_input_size);
  if (cfg.min_input_size) out["min_input_size"] = to_array(*cfg.min_input_size);
  out["fixed_input_size"] = cfg.fixed_input_size;
  out["interpolation"] = cfg.interpolation;
  out["crop_pct"] = cfg.crop_pct;
  if (cfg.test_crop_pct) out["test_crop_pct"] = *cfg.test_crop_pct;
  out["crop_mode"] = cfg.crop_mode;
  out["mean"] = to_array(cfg.mean);
  out["std"] = to_array(cfg.std);
  out["num_classes"] = cfg.num_classes;
  if (!cfg.label_names.empty()) {
    boost::json::array labels;
    for (const auto& label : cfg.label_names) labels.push_back(boost::json::string(label));
    out["label_names"] = std::move(labels);
  }
  out["first_conv"] = cfg.first_conv;
  if (cfg.classifier.find(',') == std::string::npos) {
    out["classifier"] = cfg.classifier;
  } else {
    boost::json::array names;  // timm's tuple
    for (std::size_t begin = 0; begin <= cfg.classifier.size();) {
      const std::size_t end = std::min(cfg.classifier.find(',', begin), cfg.classifier.size());
      names.push_back(boost::json::string(cfg.classifier.substr(begin, end - begin)));
      begin = end + 1;
    }
    out["classifier"] = std::move(names);
  }
  if (!cfg.license.empty()) out["license"] = cfg.license;
  return out;
}

}  // namespace autotimm
