#pragma once
// Every ConvNeXt model name timm's convnext.py registers with LayerNorm (see README.md for the rmsnorm/simplenorm
// ones), as the overrides its entry function passes to ConvNeXt, plus timm's deprecated names. The pretrained tables
// live in pretrained.cpp.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "autotimm/pretrained_cfg.hpp"
#include "autotimm/registry.hpp"
#include "convnext.hpp"

namespace autotimm::convnext {

/// One timm entry point: the architecture arguments it sets; everything else keeps ConvNeXtOptions' defaults.
struct ConvNeXtVariant {
  std::string_view name;
  std::array<std::int64_t, 4> depths = {3, 3, 9, 3};
  std::array<std::int64_t, 4> dims = {96, 192, 384, 768};
  std::array<std::int64_t, 4> kernel_sizes = {7, 7, 7, 7};
  bool conv_mlp = false;
  StemType stem_type = StemType::patch;
  bool head_norm_first = false;
  std::int64_t head_hidden_size = 0;  // 0: none
  bool use_grn = false;
  bool layer_scale = true;  // ls_init_value 1e-6; the V2 models pass None
  double norm_eps = 0.0;    // 0: the LayerNorm default (1e-6)
  layers::Activation act_layer = layers::Activation::gelu;
  std::string_view description = {};
};

/// The variant's arguments as ConvNeXtOptions (the defaults a user's model_args are merged over).
inline ConvNeXtOptions options_of(const ConvNeXtVariant& v) {
  ConvNeXtOptions options{.depths = {v.depths.begin(), v.depths.end()},
                          .dims = {v.dims.begin(), v.dims.end()},
                          .kernel_sizes = {v.kernel_sizes.begin(), v.kernel_sizes.end()},
                          .stem_type = v.stem_type,
                          .head_norm_first = v.head_norm_first,
                          .conv_mlp = v.conv_mlp,
                          .use_grn = v.use_grn,
                          .act_layer = v.act_layer};
  if (!v.layer_scale) options.ls_init_value.reset();
  if (v.head_hidden_size > 0) options.head_hidden_size = v.head_hidden_size;
  if (v.norm_eps > 0.0) options.norm_eps = v.norm_eps;
  return options;
}

namespace variant_parts {
using S = StemType;
inline constexpr std::array<std::int64_t, 4> k2262 = {2, 2, 6, 2};
inline constexpr std::array<std::int64_t, 4> k2282 = {2, 2, 8, 2};
inline constexpr std::array<std::int64_t, 4> k3393 = {3, 3, 9, 3};
inline constexpr std::array<std::int64_t, 4> k33273 = {3, 3, 27, 3};
inline constexpr std::array<std::int64_t, 4> kAtto = {40, 80, 160, 320};
inline constexpr std::array<std::int64_t, 4> kFemto = {48, 96, 192, 384};
inline constexpr std::array<std::int64_t, 4> kPico = {64, 128, 256, 512};
inline constexpr std::array<std::int64_t, 4> kNano = {80, 160, 320, 640};
inline constexpr std::array<std::int64_t, 4> kTiny = {96, 192, 384, 768};
inline constexpr std::array<std::int64_t, 4> kBase = {128, 256, 512, 1024};
inline constexpr std::array<std::int64_t, 4> kLarge = {192, 384, 768, 1536};
inline constexpr std::array<std::int64_t, 4> kXLarge = {256, 512, 1024, 2048};
}  // namespace variant_parts

// In timm's registration order.
inline constexpr auto kConvNeXtVariants = [] {
  using namespace variant_parts;
  return std::array{
      // timm's small ConvNeXts: 1×1-conv MLPs; "_ols" has an overlapping 3×3 conv stem.
      ConvNeXtVariant{.name = "convnext_atto", .depths = k2262, .dims = kAtto, .conv_mlp = true,
                      .description = "ConvNeXt-Atto"},
      ConvNeXtVariant{.name = "convnext_atto_ols", .depths = k2262, .dims = kAtto, .conv_mlp = true,
                      .stem_type = S::overlap_tiered, .description = "ConvNeXt-Atto, overlapping stem"},
      ConvNeXtVariant{.name = "convnext_femto", .depths = k2262, .dims = kFemto, .conv_mlp = true,
                      .description = "ConvNeXt-Femto"},
      ConvNeXtVariant{.name = "convnext_femto_ols", .depths = k2262, .dims = kFemto, .conv_mlp = true,
                      .stem_type = S::overlap_tiered, .description = "ConvNeXt-Femto, overlapping stem"},
      ConvNeXtVariant{.name = "convnext_pico", .depths = k2262, .dims = kPico, .conv_mlp = true,
                      .description = "ConvNeXt-Pico"},
      ConvNeXtVariant{.name = "convnext_pico_ols", .depths = k2262, .dims = kPico, .conv_mlp = true,
                      .stem_type = S::overlap_tiered, .description = "ConvNeXt-Pico, overlapping stem"},
      ConvNeXtVariant{.name = "convnext_nano", .depths = k2282, .dims = kNano, .conv_mlp = true,
                      .description = "ConvNeXt-Nano"},
      ConvNeXtVariant{.name = "convnext_nano_ols", .depths = k2282, .dims = kNano, .conv_mlp = true,
                      .stem_type = S::overlap, .description = "ConvNeXt-Nano, overlapping stem"},
      ConvNeXtVariant{.name = "convnext_tiny_hnf", .depths = k3393, .dims = kTiny, .conv_mlp = true,
                      .head_norm_first = true, .description = "ConvNeXt-T, norm before the head pool"},
      // The paper's ConvNeXts: Linear MLPs on NHWC.
      ConvNeXtVariant{.name = "convnext_tiny", .depths = k3393, .dims = kTiny, .description = "ConvNeXt-T"},
      ConvNeXtVariant{.name = "convnext_small", .depths = k33273, .dims = kTiny, .description = "ConvNeXt-S"},
      ConvNeXtVariant{.name = "convnext_base", .depths = k33273, .dims = kBase, .description = "ConvNeXt-B"},
      ConvNeXtVariant{.name = "convnext_large", .depths = k33273, .dims = kLarge, .description = "ConvNeXt-L"},
      ConvNeXtVariant{.name = "convnext_large_mlp", .depths = k33273, .dims = kLarge, .head_hidden_size = 1536,
                      .description = "ConvNeXt-L with an MLP head (CLIP image tower)"},
      ConvNeXtVariant{.name = "convnext_xlarge", .depths = k33273, .dims = kXLarge, .description = "ConvNeXt-XL"},
      ConvNeXtVariant{.name = "convnext_xxlarge", .depths = {3, 4, 30, 3}, .dims = {384, 768, 1536, 3072},
                      .norm_eps = 1e-5, .description = "ConvNeXt-XXL (CLIP image tower)"},
      // ConvNeXt-V2: Global Response Norm in the MLP, no layer scale.
      ConvNeXtVariant{.name = "convnextv2_atto", .depths = k2262, .dims = kAtto, .conv_mlp = true, .use_grn = true,
                      .layer_scale = false, .description = "ConvNeXt-V2-Atto"},
      ConvNeXtVariant{.name = "convnextv2_femto", .depths = k2262, .dims = kFemto, .conv_mlp = true, .use_grn = true,
                      .layer_scale = false, .description = "ConvNeXt-V2-Femto"},
      ConvNeXtVariant{.name = "convnextv2_pico", .depths = k2262, .dims = kPico, .conv_mlp = true, .use_grn = true,
                      .layer_scale = false, .description = "ConvNeXt-V2-Pico"},
      ConvNeXtVariant{.name = "convnextv2_nano", .depths = k2282, .dims = kNano, .conv_mlp = true, .use_grn = true,
                      .layer_scale = false, .description = "ConvNeXt-V2-Nano"},
      ConvNeXtVariant{.name = "convnextv2_tiny", .depths = k3393, .dims = kTiny, .use_grn = true, .layer_scale = false,
                      .description = "ConvNeXt-V2-T"},
      ConvNeXtVariant{.name = "convnextv2_small", .depths = k33273, .dims = kTiny, .use_grn = true,
                      .layer_scale = false, .description = "ConvNeXt-V2-S"},
      ConvNeXtVariant{.name = "convnextv2_base", .depths = k33273, .dims = kBase, .use_grn = true,
                      .layer_scale = false, .description = "ConvNeXt-V2-B"},
      ConvNeXtVariant{.name = "convnextv2_large", .depths = k33273, .dims = kLarge, .use_grn = true,
                      .layer_scale = false, .description = "ConvNeXt-V2-L"},
      ConvNeXtVariant{.name = "convnextv2_huge", .depths = k33273, .dims = {352, 704, 1408, 2816}, .use_grn = true,
                      .layer_scale = false, .description = "ConvNeXt-V2-H"},
      // timm's tiny test models (160 px weights on the Hub).
      ConvNeXtVariant{.name = "test_convnext", .depths = {1, 2, 4, 2}, .dims = {24, 32, 48, 64}, .norm_eps = 1e-5,
                      .act_layer = layers::Activation::gelu_tanh, .description = "ConvNeXt test model"},
      ConvNeXtVariant{.name = "test_convnext2", .depths = {1, 1, 1, 1}, .dims = {32, 64, 96, 128}, .norm_eps = 1e-5,
                      .act_layer = layers::Activation::gelu_tanh, .description = "ConvNeXt test model 2"},
      ConvNeXtVariant{.name = "test_convnext3", .depths = {1, 1, 1, 1}, .dims = {32, 64, 96, 128},
                      .kernel_sizes = {7, 5, 5, 3}, .norm_eps = 1e-5, .act_layer = layers::Activation::silu,
                      .description = "ConvNeXt test model 3"},
  };
}();

/// timm's register_model_deprecations for convnext.py: old name → current `arch.tag`, registered as backbone
/// aliases; the tests check every target exists.
struct DeprecatedName {
  std::string_view name;
  std::string_view replacement;
};

inline constexpr std::array<DeprecatedName, 15> kConvNeXtDeprecatedNames = {{
    {"convnext_tiny_in22ft1k", "convnext_tiny.fb_in22k_ft_in1k"},
    {"convnext_small_in22ft1k", "convnext_small.fb_in22k_ft_in1k"},
    {"convnext_base_in22ft1k", "convnext_base.fb_in22k_ft_in1k"},
    {"convnext_large_in22ft1k", "convnext_large.fb_in22k_ft_in1k"},
    {"convnext_xlarge_in22ft1k", "convnext_xlarge.fb_in22k_ft_in1k"},
    {"convnext_tiny_384_in22ft1k", "convnext_tiny.fb_in22k_ft_in1k_384"},
    {"convnext_small_384_in22ft1k", "convnext_small.fb_in22k_ft_in1k_384"},
    {"convnext_base_384_in22ft1k", "convnext_base.fb_in22k_ft_in1k_384"},
    {"convnext_large_384_in22ft1k", "convnext_large.fb_in22k_ft_in1k_384"},
    {"convnext_xlarge_384_in22ft1k", "convnext_xlarge.fb_in22k_ft_in1k_384"},
    {"convnext_tiny_in22k", "convnext_tiny.fb_in22k"},
    {"convnext_small_in22k", "convnext_small.fb_in22k"},
    {"convnext_base_in22k", "convnext_base.fb_in22k"},
    {"convnext_large_in22k", "convnext_large.fb_in22k"},
    {"convnext_xlarge_in22k", "convnext_xlarge.fb_in22k"},
}};

/// Registers every variant with its pretrained tags, and the deprecated names (plugin.cpp; the plugin's register_fn).
void register_convnext(Registrar& registrar);

// Pretrained tables (pretrained.cpp).

/// The tags of `arch` that have weights, as timm's default_cfgs lists them, the default tag first; empty for an
/// architecture timm publishes no weights for.
std::vector<PretrainedCfg> convnext_pretrained_cfgs(std::string_view arch);

/// The cfg a freshly built `arch` reports: its default tag's, or, without weights, timm's untrained cfg for it.
PretrainedCfg convnext_default_cfg(std::string_view arch);

}  // namespace autotimm::convnext
