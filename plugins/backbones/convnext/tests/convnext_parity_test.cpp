// Parity with timm on the shared convnext_atto fixture (../shared/fixtures, see its README.md): eval outputs, feature
// maps and one SGD step in train mode, through the SDK's fixture check. Loading it is also the strict key check: every
// timm key present with timm's shape, nothing left over.
#include <gtest/gtest.h>

#include <filesystem>

#include "autotimm/plugin.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "autotimm/testing/timm_parity.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace {

TEST(ConvNeXtParity, AttoMatchesTimm) {
  autotimm::testing::check_timm_parity(autotimm::testing::registry_of(autotimm_plugin_descriptor()),
                                       std::filesystem::path(AUTOTIMM_SHARED_DIR) / "fixtures",
                                       "convnext_atto.fixture");
}

}  // namespace
