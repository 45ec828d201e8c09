// Parity with timm on the shared fixtures (../shared/fixtures, see its README.md): eval outputs, feature maps and one
// SGD step in train mode, through the SDK's fixture check.
#include <gtest/gtest.h>

#include <filesystem>

#include "autotimm/plugin.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/testing/timm_parity.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace {

autotimm::Registry& resnet_registry() {
  static autotimm::Registry registry;
  static const bool loaded = autotimm::PluginLoader(registry).load_static(autotimm_plugin_descriptor()).loaded;
  EXPECT_TRUE(loaded);
  return registry;
}

class ResNetParity : public ::testing::TestWithParam<std::string> {};

TEST_P(ResNetParity, MatchesTimm) {
  autotimm::testing::check_timm_parity(resnet_registry(), std::filesystem::path(AUTOTIMM_SHARED_DIR) / "fixtures",
                                       GetParam() + ".fixture");
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ResNetParity, ::testing::Values("resnet18", "resnet50"),
                         [](const auto& info) { return info.param; });

}  // namespace
