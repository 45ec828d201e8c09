#include "autotimm/data/data_module.hpp"

#include <boost/json.hpp>

#include "autotimm/pretrained_cfg.hpp"
#include "autotimm/pretrained_cfg_json.hpp"

namespace autotimm {

DataModule::~DataModule() = default;

boost::json::object data_config_to_json(const DataConfig& config) {
  boost::json::object json;
  json["input_size"] = boost::json::array(config.input_size.begin(), config.input_size.end());
  json["interpolation"] = std::string(to_string(config.interpolation));
  json["mean"] = boost::json::array(config.mean.begin(), config.mean.end());
  json["std"] = boost::json::array(config.std.begin(), config.std.end());
  json["crop_pct"] = config.crop_pct;
  json["crop_mode"] = config.crop_mode;
  return json;
}

DataConfig data_config_from_json(const boost::json::object& json, const std::string& source) {
  // The same spelling as a pretrained_cfg, read by the same reader.
  return DataConfig::from(pretrained_cfg_from_json(json, source));
}

}  // namespace autotimm
