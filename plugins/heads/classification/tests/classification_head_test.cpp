// The classification head: timm-style key names, output shapes, pooling of feature maps, dropout only in training,
// and its option messages.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "autotimm/error.hpp"
#include "autotimm/head.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "support/error_text.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::classification {
namespace {

using autotimm::testing::error_text;

std::shared_ptr<Head> make(const std::string& options) {
  auto config = Config::parse(options, "head options");
  auto head = testing::registry_of(autotimm_plugin_descriptor()).heads().get("classification").factory(config);
  config.expect_all_used();
  return head;
}

TEST(ClassificationHead, KeysAndShapes) {
  auto head = make(R"({"in_features": 8, "num_classes": 3, "dropout": 0.2})");
  std::vector<std::string> keys;
  for (const auto& [key, tensor] : state_dict(*head)) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"fc.weight", "fc.bias"}));
  head->eval();
  auto logits = head->forward({torch::randn({5, 8})}).at(0);
  EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{5, 3}));
}

TEST(ClassificationHead, FeatureMapsArePooled) {
  auto head = make(R"({"in_features": 4, "num_classes": 2})");
  head->eval();
  auto maps = torch::randn({3, 4, 5, 6});
  auto from_maps = head->forward({maps}).at(0);
  auto from_pooled = head->forward({maps.mean({2, 3})}).at(0);
  EXPECT_TRUE(torch::allclose(from_maps, from_pooled, 1e-6, 1e-6));
}

TEST(ClassificationHead, DropoutActsOnlyInTraining) {
  auto head = make(R"({"in_features": 64, "num_classes": 2, "dropout": 0.5})");
  auto x = torch::randn({16, 64});
  head->eval();
  EXPECT_TRUE(torch::equal(head->forward({x}).at(0), head->forward({x}).at(0)));
  head->train();
  EXPECT_FALSE(torch::equal(head->forward({x}).at(0), head->forward({x}).at(0)));
}

TEST(ClassificationHead, Messages) {
  EXPECT_EQ(error_text([] { make(R"({"in_features": 8, "num_classes": 0})"); }),
            "classification head: 'num_classes' must be >= 1, got 0; set the number of classes of the data");
  EXPECT_EQ(error_text([] { make(R"({"in_features": 8, "num_classes": 2, "dropout": 1.5})"); }),
            "classification head: 'dropout' must be in [0, 1), got 1.500000");
  EXPECT_THROW(make(R"({"num_classes": 2})"), ConfigError);  // in_features is required
  auto head = make(R"({"in_features": 8, "num_classes": 2})");
  EXPECT_EQ(error_text([&] { head->forward({torch::randn({2, 7})}); }),
            "classification head: expected features [N, 8] or [N, 8, H, W], got [2, 7]");
}

}  // namespace
}  // namespace autotimm::classification
