#pragma once
// A family's tests get its plugin the way an application does, through the descriptor with every loader check,
// without a shared library: the test links the plugin's objects and passes its descriptor.
//
//   extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;
//   auto net = autotimm::testing::build_backbone(autotimm::testing::registry_of(autotimm_plugin_descriptor()),
//                                                "resnet18", R"({"num_classes": 7})");
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "autotimm/backbone.hpp"
#include "autotimm/config.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"

namespace autotimm::testing {

/// One registry per descriptor, loaded once; a failed load fails the test that asked.
inline Registry& registry_of(const PluginDescriptor* descriptor) {
  static std::map<const PluginDescriptor*, std::unique_ptr<Registry>> registries;
  auto& registry = registries[descriptor];
  if (!registry) {
    registry = std::make_unique<Registry>();
    const auto& record = PluginLoader(*registry).load_static(descriptor);
    EXPECT_TRUE(record.loaded) << record.error;
  }
  return *registry;
}

/// The entry's factory with `model_args` (JSON), failing on any key the factory did not read.
inline std::shared_ptr<Backbone> build_backbone(Registry& registry, const std::string& name,
                                                const std::string& model_args = "{}") {
  auto args = Config::parse(model_args, "model_args of " + name);
  auto net = registry.backbones().get(name).factory(args);
  args.expect_all_used();
  return net;
}

}  // namespace autotimm::testing
