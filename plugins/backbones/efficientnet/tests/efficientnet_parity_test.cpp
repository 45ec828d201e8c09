// Parity with timm on the shared mobilenetv3_small_100 fixture (../shared/fixtures, see its README.md): eval outputs,
// the five feature maps (the stem's included) and one SGD step in train mode, through the SDK's fixture check. It
// covers depthwise-separable, inverted-residual and conv blocks, SE with hard-sigmoid, hard-swish and the
// MobileNet-V3 head; loading it is also the strict key check.
#include <gtest/gtest.h>

#include <filesystem>

#include "autotimm/plugin.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "autotimm/testing/timm_parity.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace {

TEST(EfficientNetParity, MobileNetV3SmallMatchesTimm) {
  autotimm::testing::check_timm_parity(autotimm::testing::registry_of(autotimm_plugin_descriptor()),
                                       std::filesystem::path(AUTOTIMM_SHARED_DIR) / "fixtures",
                                       "mobilenetv3_small_100.fixture");
}

}  // namespace
