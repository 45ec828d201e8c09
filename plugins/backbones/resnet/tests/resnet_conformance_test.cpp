// The SDK's backbone contract for a sample of ResNet variants: one per block type and stem.
#include "autotimm/plugin.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/testing/backbone_conformance.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace {

void load_resnet(autotimm::Registry& registry) {
  const auto& record = autotimm::PluginLoader(registry).load_static(autotimm_plugin_descriptor());
  ASSERT_TRUE(record.loaded) << record.error;
}

AUTOTIMM_BACKBONE_CONFORMANCE(ResNet, load_resnet, {"resnet18", "resnet26d", "seresnext26t_32x4d"})

}  // namespace
