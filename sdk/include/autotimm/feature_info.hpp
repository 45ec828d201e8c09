#pragma once
// One entry per stage a backbone can return as a feature map, as timm's feature_info.
#include <cstdint>
#include <string>
#include <vector>

#include "autotimm/export.hpp"

namespace autotimm {

struct FeatureInfo {
  std::int64_t num_chs;    ///< channels of the map
  std::int64_t reduction;  ///< stride relative to the input
  std::string module;      ///< timm module name producing it, e.g. "layer3"
};

/// Checks timm's rules: channels > 0, reductions non-decreasing, a module name each. Throws ConfigError naming
/// the stage and the backbone.
AUTOTIMM_API void validate_feature_info(const std::vector<FeatureInfo>& info, const std::string& backbone);

/// Resolves timm-style indices against `count` stages: negative values count from the end. Throws ConfigError for
/// an index out of range, naming the valid range.
AUTOTIMM_API std::vector<std::int64_t> resolve_feature_indices(const std::vector<std::int64_t>& indices,
                                                               std::int64_t count);

}  // namespace autotimm
