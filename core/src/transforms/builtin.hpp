#pragma once
// The built-in transforms, one list per source file, gathered by transform.cpp into the name registry.
#include <string>
#include <vector>

#include "autotimm/data/transform.hpp"

namespace autotimm::transforms {

struct Builtin {
  std::string name;
  TransformFactory factory;
  std::string description;
};

std::vector<Builtin> geometry_transforms();      // geometry.cpp: resize, crops, flips
std::vector<Builtin> color_transforms();         // color_transforms.cpp: color jitter, grayscale, ...
std::vector<Builtin> auto_augment_transforms();  // auto_augment.cpp: randaugment, trivialaugment, autoaugment

/// `options[key]` as [low, high] with low <= high, or `fallback`; ConfigError naming the key otherwise.
std::pair<double, double> range_option(const Config& options, std::string_view key, std::pair<double, double> fallback);
/// `options[key]` as a size: one int (square) or [height, width]; ConfigError unless positive.
std::pair<int, int> size_option(const Config& options, std::string_view key);
/// A probability option in [0, 1].
double probability_option(const Config& options, std::string_view key, double fallback);

}  // namespace autotimm::transforms
