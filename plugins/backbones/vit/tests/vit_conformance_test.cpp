// The SDK's backbone contract over the family's code paths, on tiny configurations (64 × 64 inputs, two blocks) so the
// suite stays fast: class token, no class token with register tokens, DeiT distillation, dynamic image size, and
// pre-norm / fc-norm / qk-norm / layer scale. Each configuration is registered under a test-only name.
#include <gtest/gtest.h>

#include "autotimm/config.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/testing/backbone_conformance.hpp"
#include "vision_transformer.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace {

using autotimm::vit::GlobalPool;
using autotimm::vit::VisionTransformerOptions;

struct TinyConfig {
  const char* name;
  VisionTransformerOptions options;
};

// Small enough for a 64 × 64 input at patch 16: a 4 × 4 grid, width 32, two blocks.
VisionTransformerOptions tiny(VisionTransformerOptions options) {
  options.embed_dim = 32;
  options.depth = 2;
  options.num_heads = 2;
  return options;
}

const TinyConfig kConfigs[] = {
    {"test_vit_class_token", tiny({.img_size = {64, 64}})},
    {"test_vit_registers_avg", tiny({.img_size = {64, 64}, .global_pool = GlobalPool::avg, .init_values = 1e-5,
                                     .class_token = false, .no_embed_class = true, .reg_tokens = 3})},
    {"test_deit_distilled", tiny({.img_size = {64, 64}, .distilled = true})},
    {"test_vit_dynamic_size", tiny({.img_size = {32, 48}, .global_pool = GlobalPool::avgmax, .reg_tokens = 1,
                                    .dynamic_img_size = true})},
    {"test_vit_prenorm_fcnorm", tiny({.img_size = {64, 64}, .patch_size = 8, .qk_norm = true, .init_values = 0.1,
                                      .pre_norm = true, .fc_norm = true, .fix_init = true})},
};

void load_vit_and_tiny_configs(autotimm::Registry& registry) {
  const auto& record = autotimm::PluginLoader(registry).load_static(autotimm_plugin_descriptor());
  ASSERT_TRUE(record.loaded) << record.error;
  autotimm::Registrar registrar(autotimm::EntrySource{.plugin = "vit-conformance-test"});
  for (const auto& config : kConfigs) {
    registrar.add(autotimm::BackboneEntry{
        .name = config.name,
        .factory = [options = config.options](const autotimm::Config& args) -> std::shared_ptr<autotimm::Backbone> {
          return std::make_shared<autotimm::vit::VisionTransformerImpl>(autotimm::vit::vit_options_from(args, options));
        }});
  }
  registry.commit(registrar);
}

TEST(VitConformance, TinyConfigurationsKeepTheBackboneContract) {
  autotimm::Registry registry;
  load_vit_and_tiny_configs(registry);
  for (const auto& config : kConfigs) autotimm::testing::check_backbone_conformance(registry, config.name);
}

}  // namespace
