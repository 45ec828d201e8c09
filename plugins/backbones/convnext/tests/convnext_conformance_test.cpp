// The SDK's backbone contract for a sample of ConvNeXt variants, the smallest of each kind: a 1×1-conv MLP model
// (convnext_atto), an overlapping stem (_ols), ConvNeXt-V2 with GRN (convnextv2_atto), per-stage kernel sizes and
// SiLU (test_convnext3), norm-first head (a shallow convnext_tiny_hnf), and an MLP head (head_hidden_size, as
// convnext_large_mlp, on atto's widths).
#include "autotimm/config.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/testing/backbone_conformance.hpp"
#include "variants.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace {

using autotimm::convnext::ConvNeXtImpl;
using autotimm::convnext::ConvNeXtOptions;

// A test-only name built by the plugin's own classes: a variant's options with some keys overridden.
autotimm::BackboneEntry test_entry(const std::string& name, std::string_view variant, std::string_view overrides) {
  ConvNeXtOptions defaults;
  for (const auto& v : autotimm::convnext::kConvNeXtVariants) {
    if (v.name == variant) defaults = autotimm::convnext::options_of(v);
  }
  defaults = autotimm::convnext::convnext_options_from(autotimm::Config::parse(overrides, name), defaults);
  return autotimm::BackboneEntry{
      .name = name,
      .factory = [defaults, name](const autotimm::Config& model_args) -> std::shared_ptr<autotimm::Backbone> {
        return std::make_shared<ConvNeXtImpl>(autotimm::convnext::convnext_options_from(model_args, defaults),
                                              autotimm::PretrainedCfg{.architecture = name});
      }};
}

void load_convnext(autotimm::Registry& registry) {
  const auto& record = autotimm::PluginLoader(registry).load_static(autotimm_plugin_descriptor());
  ASSERT_TRUE(record.loaded) << record.error;
  autotimm::Registrar extra(autotimm::EntrySource{.plugin = "convnext-tests"});
  extra.add(test_entry("test_convnext_tiny_hnf_shallow", "convnext_tiny_hnf", R"({"depths": [1, 1, 1, 1]})"));
  extra.add(test_entry("test_convnext_atto_mlp_head", "convnext_atto", R"({"head_hidden_size": 320})"));
  registry.commit(extra);
}

AUTOTIMM_BACKBONE_CONFORMANCE(ConvNeXt, load_convnext,
                              {"convnext_atto", "convnext_atto_ols", "convnextv2_atto", "test_convnext3",
                               "test_convnext_tiny_hnf_shallow", "test_convnext_atto_mlp_head"})

}  // namespace
