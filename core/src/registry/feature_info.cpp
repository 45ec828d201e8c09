#include "autotimm/feature_info.hpp"

#include "autotimm/error.hpp"

namespace autotimm {

void validate_feature_info(const std::vector<FeatureInfo>& info, const std::string& backbone) {
  if (info.empty()) throw ConfigError("feature_info of '" + backbone + "' is empty: expected one entry per stage");
  std::int64_t previous_reduction = 0;
  for (std::size_t i = 0; i < info.size(); ++i) {
    const auto& stage = info[i];
    const std::string where = "feature_info[" + std::to_string(i) + "] of '" + backbone + "'";
    if (stage.num_chs <= 0) {
      throw ConfigError(where + ": expected num_chs > 0, got " + std::to_string(stage.num_chs));
    }
    if (stage.reduction < previous_reduction) {
      throw ConfigError(where + ": reductions must not decrease, got " + std::to_string(stage.reduction) +
                        " after " + std::to_string(previous_reduction));
    }
    if (stage.module.empty()) throw ConfigError(where + ": expected a module name, got an empty one");
    previous_reduction = stage.reduction;
  }
}

std::vector<std::int64_t> resolve_feature_indices(const std::vector<std::int64_t>& indices, std::int64_t count) {
  std::vector<std::int64_t> resolved;
  resolved.reserve(indices.size());
  for (const auto index : indices) {
    const std::int64_t actual = index < 0 ? count + index : index;
    if (actual < 0 || actual >= count) {
      throw ConfigError("feature index " + std::to_string(index) + " is out of range: expected " +
                        std::to_string(-count) + " to " + std::to_string(count - 1) + " for " +
                        std::to_string(count) + " stages");
    }
    resolved.push_back(actual);
  }
  return resolved;
}

}  // namespace autotimm
