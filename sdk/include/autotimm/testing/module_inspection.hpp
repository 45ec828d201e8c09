#pragma once
// What a family's tests read off a built network to compare it with timm: parameter counts, the state dict's
// key → shape map, and both counts over a table of models.
//
//   EXPECT_EQ(autotimm::testing::parameter_count(*net), 5'288'548);
//   EXPECT_EQ(autotimm::testing::shapes_of(*net).at("conv_stem.weight"), (autotimm::testing::Shape{32, 3, 3, 3}));
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include "autotimm/state_dict.hpp"
#include "autotimm/testing/plugin_registry.hpp"

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

/// timm's numbers for one model: its parameters with 1000 classes and its state-dict keys (num_batches_tracked
/// included). 0 leaves that number unchecked, for models with only one trusted figure.
struct TimmCounts {
  const char* name;
  std::int64_t parameters;
  std::size_t keys;
};

/// Builds each model from `registry` (default model args) and expects timm's counts.
template <class Models>
void expect_timm_counts(Registry& registry, const Models& models) {
  for (const TimmCounts& expected : models) {
    SCOPED_TRACE(expected.name);
    const auto net = build_backbone(registry, expected.name);
    if (expected.parameters) {
      EXPECT_EQ(parameter_count(*net), expected.parameters);
    }
    if (expected.keys) {
      EXPECT_EQ(state_dict(*net).size(), expected.keys);
    }
  }
}

}  // namespace autotimm::testing
