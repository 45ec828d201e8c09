#pragma once
// What the callbacks and the trainer that watch a metric share: the min/max mode check and the list of what was
// logged, for the message when the watched metric is missing.
#include <map>
#include <string>
#include <string_view>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"

namespace autotimm {

/// ConfigError "<who>: mode must be min or max, got '<mode>'" unless it is one of them.
inline void check_monitor_mode(const std::string& mode, std::string_view who) {
  if (mode != "min" && mode != "max") {
    throw ConfigError(std::string(who) + ": mode must be min or max, got '" + mode + "'");
  }
}

/// "train/loss, val/accuracy, ..." (sorted, as the map holds them).
inline std::string logged_metric_names(const std::map<std::string, double>& metrics) {
  std::vector<std::string> names;
  names.reserve(metrics.size());
  for (const auto& [name, value] : metrics) names.push_back(name);
  return join_names(names);
}

}  // namespace autotimm
