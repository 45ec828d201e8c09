#pragma once
// PretrainedCfg ↔ JSON, with timm's field names (the `pretrained_cfg` object of a Hub config.json).
#include <string>

#include <boost/json/object.hpp>

#include "autotimm/export.hpp"
#include "autotimm/pretrained_cfg.hpp"

namespace autotimm {

/// Reads the fields timm writes; fields this build does not use are ignored, as timm ignores unknown ones.
/// A known field of the wrong type is a FormatError naming it and `source`.
AUTOTIMM_API PretrainedCfg pretrained_cfg_from_json(const boost::json::object& json, const std::string& source);

AUTOTIMM_API boost::json::object pretrained_cfg_to_json(const PretrainedCfg& cfg);

}  // namespace autotimm
