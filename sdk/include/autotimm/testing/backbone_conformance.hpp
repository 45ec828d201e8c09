#pragma once
// The contract every backbone keeps, as GoogleTest checks: a family's tests (ours or a third party's) run them over
// each of its registered names with one macro:
//
//   AUTOTIMM_BACKBONE_CONFORMANCE(ResNet, my_registry_fn, {"resnet18", "resnet50d", "seresnet18"});
//
// For each name: construction with a class count, forward = forward_head(forward_features), pre-logits width =
// num_features, feature_info valid and matching forward_intermediates, every stage reported to a StageCapture during
// forward_features and forward_intermediates (the map forward_intermediates returns, in the family's layout),
// headless forward after reset_classifier(0), unique state-dict keys, and a safetensors save/load round trip giving
// the same outputs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "autotimm/backbones.hpp"
#include "autotimm/io/safetensors_torch.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/stage_capture.hpp"
#include "autotimm/state_dict.hpp"

namespace autotimm::testing {

struct ConformanceOptions {
  std::int64_t batch = 2;
  std::int64_t image_size = 64;  ///< a multiple of every reduction, so map sizes are exact
  std::int64_t num_classes = 7;
};

inline void check_backbone_conformance(Registry& registry, const std::string& name,
                                       const ConformanceOptions& options = {}) {
  SCOPED_TRACE(name);
  torch::manual_seed(0);
  auto net = create_backbone(name, {.num_classes = options.num_classes}, &registry);
  net->eval();
  const auto x = torch::randn({options.batch, 3, options.image_size, options.image_size});
  torch::NoGradGuard no_grad;

  const auto logits = net->forward(x);
  ASSERT_EQ(logits.sizes(), torch::IntArrayRef({options.batch, options.num_classes}));
  EXPECT_EQ(net->num_classes(), options.num_classes);
  const auto features = net->forward_features(x);
  EXPECT_TRUE(torch::allclose(net->forward_head(features), logits, 1e-5, 1e-5));
  const auto pre_logits = net->forward_head(features, /*pre_logits=*/true);
  EXPECT_EQ(pre_logits.sizes(), torch::IntArrayRef({options.batch, net->head_hidden_size()}));

  const auto& info = net->feature_info();
  EXPECT_NO_THROW(validate_feature_info(info, name));
  std::vector<std::int64_t> all;
  for (std::size_t i = 0; i < info.size(); ++i) all.push_back(static_cast<std::int64_t>(i));
  const auto maps = net->forward_intermediates(x, all);
  ASSERT_EQ(maps.size(), info.size());
  for (std::size_t i = 0; i < maps.size(); ++i) {
    SCOPED_TRACE(info[i].module);
    ASSERT_EQ(maps[i].dim(), 4);
    EXPECT_EQ(maps[i].size(0), options.batch);
    EXPECT_EQ(maps[i].size(1), info[i].num_chs);
    EXPECT_EQ(maps[i].size(2), options.image_size / info[i].reduction);
    EXPECT_EQ(maps[i].size(3), options.image_size / info[i].reduction);
  }
  for (std::size_t i = 0; i < maps.size(); ++i) {
    SCOPED_TRACE("stage_output of " + info[i].module);
    StageCapture capture(*net, static_cast<std::int64_t>(i));
    net->forward_features(x);
    ASSERT_TRUE(capture.reached()) << "forward_features did not pass stage " << i << " through stage_output";
    const auto grid = options.image_size / info[i].reduction;
    const auto reported = stage_output_as_nchw(capture.output(), capture.layout(), grid, grid);
    ASSERT_EQ(reported.sizes(), maps[i].sizes()) << "the stage output in its reported layout";
    EXPECT_TRUE(torch::allclose(reported, maps[i], 1e-5, 1e-5));
    StageCapture dense(*net, static_cast<std::int64_t>(i));  // dense tasks run forward_intermediates instead
    net->forward_intermediates(x, {static_cast<std::int64_t>(i)});
    ASSERT_TRUE(dense.reached()) << "forward_intermediates did not pass stage " << i << " through stage_output";
    const auto dense_reported = stage_output_as_nchw(dense.output(), dense.layout(), grid, grid);
    EXPECT_TRUE(torch::allclose(dense_reported, maps[i], 1e-5, 1e-5));
  }
  const auto last = net->forward_intermediates(x, {-1});
  ASSERT_EQ(last.size(), 1u);
  EXPECT_TRUE(torch::allclose(last[0], maps.back()));

  std::map<std::string, torch::Tensor> saved;
  std::set<std::string> keys;
  for (auto& [key, value] : state_dict(*net)) {
    EXPECT_TRUE(keys.insert(key).second) << "duplicate state-dict key " << key;
    saved[key] = value.detach().clone();
  }
  auto copy = create_backbone(name, {.num_classes = options.num_classes}, &registry);
  const auto report = load_state_dict(*copy, saved, {.source = name});
  EXPECT_TRUE(report.missing.empty() && report.unexpected.empty());
  copy->eval();
  EXPECT_TRUE(torch::allclose(copy->forward(x), logits, 1e-5, 1e-5)) << "a state-dict round trip changed the outputs";

  net->reset_classifier(0);
  EXPECT_EQ(net->num_classes(), 0);
  const auto pooled = net->forward(x);
  EXPECT_EQ(pooled.sizes(), torch::IntArrayRef({options.batch, net->head_hidden_size()}));
  EXPECT_TRUE(torch::allclose(pooled, pre_logits, 1e-5, 1e-5));
}

}  // namespace autotimm::testing

/// One test per name; `registry_fn` is a `void(autotimm::Registry&)` that fills a registry with the family.
#define AUTOTIMM_BACKBONE_CONFORMANCE(suite, registry_fn, ...)                            \
  TEST(suite##Conformance, EveryListedNameKeepsTheBackboneContract) {                    \
    autotimm::Registry registry;                                                          \
    registry_fn(registry);                                                                \
    for (const std::string name : std::initializer_list<const char*> __VA_ARGS__) {      \
      autotimm::testing::check_backbone_conformance(registry, name);                      \
    }                                                                                     \
  }
