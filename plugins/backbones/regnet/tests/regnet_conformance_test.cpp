// The SDK's backbone contract for a sample of RegNet variants, the smallest of each kind: RegNet-X (regnetx_002),
// RegNet-Y with SE (regnety_002), a shallow RegNet-Y with its own design (a test-only name), and shallow builds of the
// other block kinds: pre-activation with the average-pool shortcut (regnetv_064), RegNet-Z (no shortcut where the
// shape changes, linear outputs, a final 1×1 conv: regnetz_005), GroupNorm + SiLU (regnety_040_sgn), and an output
// stride of 8.
#include "autotimm/config.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/testing/backbone_conformance.hpp"
#include "variants.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace {

using autotimm::regnet::RegNetImpl;
using autotimm::regnet::RegNetOptions;

// A test-only name built by the plugin's own classes: a variant's options with some keys overridden.
autotimm::BackboneEntry test_entry(const std::string& name, std::string_view variant, std::string_view overrides) {
  RegNetOptions defaults;
  for (const auto& v : autotimm::regnet::kRegNetVariants) {
    if (v.name == variant) defaults = autotimm::regnet::options_of(v);
  }
  defaults = autotimm::regnet::regnet_options_from(autotimm::Config::parse(overrides, name), defaults);
  return autotimm::BackboneEntry{
      .name = name,
      .factory = [defaults, name](const autotimm::Config& model_args) -> std::shared_ptr<autotimm::Backbone> {
        return std::make_shared<RegNetImpl>(autotimm::regnet::regnet_options_from(model_args, defaults),
                                            autotimm::PretrainedCfg{.architecture = name});
      }};
}

// Four stages of 1, 1, 3 and 1 blocks, 16, 32, 64 and 128 wide (w0 16, wa 16, wm 2, depth 6).
constexpr std::string_view kShallow = R"({"w0": 16, "wa": 16.0, "wm": 2.0, "depth": 6, "group_size": 8})";

void load_regnet(autotimm::Registry& registry) {
  const auto& record = autotimm::PluginLoader(registry).load_static(autotimm_plugin_descriptor());
  ASSERT_TRUE(record.loaded) << record.error;
  autotimm::Registrar extra(autotimm::EntrySource{.plugin = "regnet-tests"});
  extra.add(test_entry("test_regnety_shallow", "regnety_002", kShallow));
  extra.add(test_entry("test_regnetv_064_shallow", "regnetv_064", kShallow));
  extra.add(test_entry("test_regnetz_005_shallow", "regnetz_005", R"({"w0": 16, "wa": 16.0, "wm": 2.0, "depth": 6,
                                                                     "group_size": 4, "num_features": 96})"));
  extra.add(test_entry("test_regnety_040_sgn_shallow", "regnety_040_sgn",
                       R"({"w0": 16, "wa": 16.0, "wm": 2.0, "depth": 6, "group_size": 16})"));
  extra.add(test_entry("test_regnetx_002_os8", "regnetx_002", R"({"output_stride": 8})"));
  registry.commit(extra);
}

AUTOTIMM_BACKBONE_CONFORMANCE(RegNet, load_regnet,
                              {"regnetx_002", "regnety_002", "test_regnety_shallow", "test_regnetv_064_shallow",
                               "test_regnetz_005_shallow", "test_regnety_040_sgn_shallow", "test_regnetx_002_os8"})

}  // namespace
