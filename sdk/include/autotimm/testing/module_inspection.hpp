#pragma once
// What a family's tests read off a built network to compare it with timm: parameter counts and the state dict's
// key → shape map.
//
//   EXPECT_EQ(autotimm::testing::parameter_count(*net), 5'288'548);
//   EXPECT_EQ(autotimm::testing::shapes_of(*net).at("conv_stem.weight"), (autotimm::testing::Shape{32, 3, 3, 3}));
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "autotimm/state_dict.hpp"

namespace autotimm::testing {

using Shape = std::vector<std::int64_t>;

/// Elements over every parameter (buffers excluded), as timm's published sizes count them.
inline std::int64_t parameter_count(const torch::nn::Module& module) {
  std::int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

/// The state dict's keys with their shapes.
inline std::map<std::string, Shape> shapes_of(const torch::nn::Module& module) {
  std::map<std::string, Shape> shapes;
  for (const auto& [key, tensor] : state_dict(module)) shapes[key] = tensor.sizes().vec();
  return shapes;
}

}  // namespace autotimm::testing
