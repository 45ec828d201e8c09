// Parity with timm on the shared convnext_atto fixture (../shared/fixtures, see its README.md): eval outputs, feature
// maps and one SGD step in train mode, through the SDK's fixture check. Loading it is also the strict key check: every
// timm key present with timm's shape, nothing left over.
#include <gtest/gtest.h>

#include <filesystem>

#include "autotimm/plugin.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/testing/timm_parity.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace {

autotimm::Registry& convnext_registry() {
  static autotimm::Registry registry;
  static const bool loaded = autotimm::PluginLoader(registry).load_static(autotimm_plugin_descriptor()).loaded;
  EXPECT_TRUE(loaded);
  return registry;
}

TEST(ConvNeXtParity, AttoMatchesTimm) {
  autotimm::testing::check_timm_parity(convnext_registry(), std::filesystem::path(AUTOTIMM_SHARED_DIR) / "fixtures",
                                       "convnext_atto.fixture");
}

}  // namespace
