// The SDK's backbone contract over one model of each kind this plugin builds: MobileNet-V3 small (stem feature,
// hard-swish, SE) and its TF port with "same" padding, a narrow MobileNet-V3 with a fixed stem, EfficientNet-B0,
// EfficientNet-Lite (no SE), the EdgeTPU layout (edge residuals, forced input width), EfficientNet-V2 (conv and edge
// stages), MixNet (mixed kernels), MobileNet-V2 and timm's MobileNet-V3 layout (no head bias).
#include "autotimm/plugin.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/testing/backbone_conformance.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace {

void load_efficientnet(autotimm::Registry& registry) {
  const auto& record = autotimm::PluginLoader(registry).load_static(autotimm_plugin_descriptor());
  ASSERT_TRUE(record.loaded) << record.error;
}

AUTOTIMM_BACKBONE_CONFORMANCE(EfficientNet, load_efficientnet,
                              {"mobilenetv3_small_100", "tf_mobilenetv3_small_minimal_100", "mobilenetv3_small_050",
                               "efficientnet_b0", "efficientnet_lite0", "efficientnet_es", "tf_efficientnetv2_b0",
                               "mixnet_s", "mobilenetv2_050", "mobilenetv3_rw"})

}  // namespace
