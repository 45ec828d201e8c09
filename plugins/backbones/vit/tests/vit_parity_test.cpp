// Parity with timm on the shared fixture (../shared/fixtures, see its README.md): vit_tiny_patch16_224 with depth 2 —
// eval outputs, block feature maps and one SGD step in train mode, through the SDK's fixture check.
#include <gtest/gtest.h>

#include <filesystem>

#include "autotimm/plugin.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "autotimm/testing/timm_parity.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace {

autotimm::Registry& vit_registry() { return autotimm::testing::registry_of(autotimm_plugin_descriptor()); }

TEST(VitParity, TinyPatch16Depth2MatchesTimm) {
  autotimm::testing::check_timm_parity(vit_registry(), std::filesystem::path(AUTOTIMM_SHARED_DIR) / "fixtures",
                                       "vit_tiny_patch16_224.fixture-depth2");
}

}  // namespace
