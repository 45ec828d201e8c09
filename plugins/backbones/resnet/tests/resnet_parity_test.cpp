// Parity with timm on the shared fixtures (../shared/fixtures, see its README.md): eval outputs, feature maps and one
// SGD step in train mode, through the SDK's fixture check.
#include <gtest/gtest.h>

#include <filesystem>

#include "autotimm/plugin.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "autotimm/testing/timm_parity.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace {

class ResNetParity : public ::testing::TestWithParam<std::string> {};

TEST_P(ResNetParity, MatchesTimm) {
  autotimm::testing::check_timm_parity(autotimm::testing::registry_of(autotimm_plugin_descriptor()),
                                       std::filesystem::path(AUTOTIMM_SHARED_DIR) / "fixtures",
                                       GetParam() + ".fixture");
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ResNetParity, ::testing::Values("resnet18", "resnet50"),
                         [](const auto& info) { return info.param; });

}  // namespace
