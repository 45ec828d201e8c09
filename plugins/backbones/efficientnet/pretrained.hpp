#pragma once
// timm's pretrained tags for the EfficientNet / MobileNet family (efficientnet.py and mobilenetv3.py default_cfgs),
// as `arch.tag` → PretrainedCfg tables (pretrained.cpp).
#include <string_view>
#include <vector>

#include "autotimm/pretrained_cfg.hpp"

namespace autotimm::efficientnet {

/// The tags of `arch` that have weights, as timm's default_cfgs lists them, the default tag first; empty for an
/// architecture timm publishes no weights for.
std::vector<PretrainedCfg> efficientnet_pretrained_cfgs(std::string_view arch);

/// The cfg a freshly built `arch` reports: its default tag's, or, without weights, timm's untrained cfg for it.
PretrainedCfg efficientnet_default_cfg(std::string_view arch);

}  // namespace autotimm::efficientnet
