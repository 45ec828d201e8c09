// The SDK's backbone contract over the family's code paths, on narrow, shallow test entries at 64 × 64 (the suite's
// image size): strict img_size with shifted, padded and clipped windows; strict_img_size false (masks per input);
// always_partition with a window larger than the last maps; per-stage windows (swin_s3); and no qkv bias with an
// explicit head_dim. Each is registered under a test-only name, built by the plugin's own classes.
//
// The helper compares forward_head(forward_features(x)) with forward(x) and never looks inside the features, so
// Swin's NHWC forward_features needs nothing special; forward_intermediates is checked as NCHW, which it is.
#include <gtest/gtest.h>

#include "autotimm/config.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/testing/backbone_conformance.hpp"
#include "variants.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace {

using autotimm::swin::SwinTransformerImpl;
using autotimm::swin::SwinTransformerOptions;

// A test-only name built by the plugin's own classes: a variant's options with some keys overridden.
autotimm::BackboneEntry test_entry(const std::string& name, std::string_view variant, std::string_view overrides) {
  SwinTransformerOptions defaults;
  for (const auto& v : autotimm::swin::kSwinVariants) {
    if (v.name == variant) defaults = autotimm::swin::options_of(v);
  }
  defaults = autotimm::swin::swin_options_from(autotimm::Config::parse(overrides, name), defaults);
  return autotimm::BackboneEntry{
      .name = name,
      .factory = [defaults, name](const autotimm::Config& model_args) -> std::shared_ptr<autotimm::Backbone> {
        return std::make_shared<SwinTransformerImpl>(autotimm::swin::swin_options_from(model_args, defaults),
                                                     autotimm::PretrainedCfg{.architecture = name});
      }};
}

void load_swin(autotimm::Registry& registry) {
  const auto& record = autotimm::PluginLoader(registry).load_static(autotimm_plugin_descriptor());
  ASSERT_TRUE(record.loaded) << record.error;
  autotimm::Registrar extra(autotimm::EntrySource{.plugin = "swin-tests"});
  constexpr const char* kNarrow = R"("embed_dim": 16, "depths": [2, 2, 2, 2], "num_heads": [1, 2, 2, 4])";
  extra.add(test_entry("test_swin_tiny_64", "swin_tiny_patch4_window7_224",
                       std::string(R"({"img_size": 64, )") + kNarrow + "}"));
  extra.add(test_entry("test_swin_tiny_dynamic", "swin_tiny_patch4_window7_224",
                       std::string(R"({"strict_img_size": false, "drop_rate": 0.1, )") + kNarrow + "}"));
  extra.add(test_entry("test_swin_base_w12_always_partition", "swin_base_patch4_window12_384",
                       std::string(R"({"img_size": 64, "window_size": 5, "always_partition": true, )") + kNarrow +
                           "}"));
  extra.add(test_entry("test_swin_s3_64", "swin_s3_small_224",
                       std::string(R"({"img_size": 64, "window_size": [4, 2, 2, 1], )") + kNarrow + "}"));
  extra.add(test_entry("test_swin_no_qkv_bias", "swin_tiny_patch4_window7_224",
                       R"({"img_size": 64, "embed_dim": 12, "depths": [2, 1, 2, 1], "num_heads": [2, 3, 3, 5],
                           "head_dim": 4, "qkv_bias": false, "mlp_ratio": 2.5, "window_size": [3, 5]})"));
  registry.commit(extra);
}

AUTOTIMM_BACKBONE_CONFORMANCE(Swin, load_swin,
                              {"test_swin_tiny_64", "test_swin_tiny_dynamic", "test_swin_base_w12_always_partition",
                               "test_swin_s3_64", "test_swin_no_qkv_bias"})

}  // namespace
