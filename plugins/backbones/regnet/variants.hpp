#pragma once
// Every model name timm's regnet.py registers, as its RegNetCfg (timm's model_cfgs) plus the keywords its entry
// function binds (zero_init_last=False for RegNet-Z), and timm's deprecated name. The pretrained tables live in
// pretrained.cpp.
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "autotimm/pretrained_cfg.hpp"
#include "autotimm/registry.hpp"
#include "regnet.hpp"

namespace autotimm::regnet {

/// One timm entry point: its RegNetCfg; everything else keeps RegNetOptions' defaults.
struct RegNetVariant {
  std::string_view name;
  std::int64_t w0 = 80;
  double wa = 42.63;
  double wm = 2.66;
  std::int64_t group_size = 24;
  std::int64_t depth = 21;
  double se_ratio = 0.0;
  double bottle_ratio = 1.0;
  double group_min_ratio = 0.0;
  Downsample downsample = Downsample::conv1x1;
  bool linear_out = false;
  bool preact = false;
  std::int64_t num_features = 0;
  layers::Activation act_layer = layers::Activation::relu;
  NormLayer norm_layer = NormLayer::batchnorm;
  std::int64_t norm_group_size = 0;  // 0: unset (GroupNorm with 32 groups)
  bool zero_init_last = true;
  std::string_view description = {};
};

/// The variant's arguments as RegNetOptions (the defaults a user's model_args are merged over).
inline RegNetOptions options_of(const RegNetVariant& v) {
  RegNetOptions options{.depth = v.depth,
                        .w0 = v.w0,
                        .wa = v.wa,
                        .wm = v.wm,
                        .group_size = v.group_size,
                        .bottle_ratio = v.bottle_ratio,
                        .se_ratio = v.se_ratio,
                        .group_min_ratio = v.group_min_ratio,
                        .downsample = v.downsample,
                        .linear_out = v.linear_out,
                        .preact = v.preact,
                        .num_features = v.num_features,
                        .act_layer = v.act_layer,
                        .norm_layer = v.norm_layer,
                        .zero_init_last = v.zero_init_last};
  if (v.norm_group_size > 0) options.norm_group_size = v.norm_group_size;
  return options;
}

// In timm's registration order. Model FLOPs = the three trailing digits × 10^8.
inline constexpr auto kRegNetVariants = [] {
  using V = RegNetVariant;
  constexpr auto silu = layers::Activation::silu;
  constexpr double se = 0.25;
  constexpr double tv = 0.9;  // torchvision's group rounding (the `_tv` models)
  return std::array{
      // RegNet-X: no SE.
      V{.name = "regnetx_002", .w0 = 24, .wa = 36.44, .wm = 2.49, .group_size = 8, .depth = 13,
        .description = "RegNetX-200MF"},
      V{.name = "regnetx_004", .w0 = 24, .wa = 24.48, .wm = 2.54, .group_size = 16, .depth = 22,
        .description = "RegNetX-400MF"},
      V{.name = "regnetx_004_tv", .w0 = 24, .wa = 24.48, .wm = 2.54, .group_size = 16, .depth = 22,
        .group_min_ratio = tv, .description = "RegNetX-400MF, torchvision group rounding"},
      V{.name = "regnetx_006", .w0 = 48, .wa = 36.97, .wm = 2.24, .group_size = 24, .depth = 16,
        .description = "RegNetX-600MF"},
      V{.name = "regnetx_008", .w0 = 56, .wa = 35.73, .wm = 2.28, .group_size = 16, .depth = 16,
        .description = "RegNetX-800MF"},
      V{.name = "regnetx_016", .w0 = 80, .wa = 34.01, .wm = 2.25, .group_size = 24, .depth = 18,
        .description = "RegNetX-1.6GF"},
      V{.name = "regnetx_032", .w0 = 88, .wa = 26.31, .wm = 2.25, .group_size = 48, .depth = 25,
        .description = "RegNetX-3.2GF"},
      V{.name = "regnetx_040", .w0 = 96, .wa = 38.65, .wm = 2.43, .group_size = 40, .depth = 23,
        .description = "RegNetX-4.0GF"},
      V{.name = "regnetx_064", .w0 = 184, .wa = 60.83, .wm = 2.07, .group_size = 56, .depth = 17,
        .description = "RegNetX-6.4GF"},
      V{.name = "regnetx_080", .w0 = 80, .wa = 49.56, .wm = 2.88, .group_size = 120, .depth = 23,
        .description = "RegNetX-8.0GF"},
      V{.name = "regnetx_120", .w0 = 168, .wa = 73.36, .wm = 2.37, .group_size = 112, .depth = 19,
        .description = "RegNetX-12GF"},
      V{.name = "regnetx_160", .w0 = 216, .wa = 55.59, .wm = 2.1, .group_size = 128, .depth = 22,
        .description = "RegNetX-16GF"},
      V{.name = "regnetx_320", .w0 = 320, .wa = 69.86, .wm = 2.0, .group_size = 168, .depth = 23,
        .description = "RegNetX-32GF"},
      // RegNet-Y: SE after conv2.
      V{.name = "regnety_002", .w0 = 24, .wa = 36.44, .wm = 2.49, .group_size = 8, .depth = 13, .se_ratio = se,
        .description = "RegNetY-200MF"},
      V{.name = "regnety_004", .w0 = 48, .wa = 27.89, .wm = 2.09, .group_size = 8, .depth = 16, .se_ratio = se,
        .description = "RegNetY-400MF"},
      V{.name = "regnety_006", .w0 = 48, .wa = 32.54, .wm = 2.32, .group_size = 16, .depth = 15, .se_ratio = se,
        .description = "RegNetY-600MF"},
      V{.name = "regnety_008", .w0 = 56, .wa = 38.84, .wm = 2.4, .group_size = 16, .depth = 14, .se_ratio = se,
        .description = "RegNetY-800MF"},
      V{.name = "regnety_008_tv", .w0 = 56, .wa = 38.84, .wm = 2.4, .group_size = 16, .depth = 14, .se_ratio = se,
        .group_min_ratio = tv, .description = "RegNetY-800MF, torchvision group rounding"},
      V{.name = "regnety_016", .w0 = 48, .wa = 20.71, .wm = 2.65, .group_size = 24, .depth = 27, .se_ratio = se,
        .description = "RegNetY-1.6GF"},
      V{.name = "regnety_032", .w0 = 80, .wa = 42.63, .wm = 2.66, .group_size = 24, .depth = 21, .se_ratio = se,
        .description = "RegNetY-3.2GF"},
      V{.name = "regnety_040", .w0 = 96, .wa = 31.41, .wm = 2.24, .group_size = 64, .depth = 22, .se_ratio = se,
        .description = "RegNetY-4.0GF"},
      V{.name = "regnety_064", .w0 = 112, .wa = 33.22, .wm = 2.27, .group_size = 72, .depth = 25, .se_ratio = se,
        .description = "RegNetY-6.4GF"},
      V{.name = "regnety_080", .w0 = 192, .wa = 76.82, .wm = 2.19, .group_size = 56, .depth = 17, .se_ratio = se,
        .description = "RegNetY-8.0GF"},
      V{.name = "regnety_080_tv", .w0 = 192, .wa = 76.82, .wm = 2.19, .group_size = 56, .depth = 17, .se_ratio = se,
        .group_min_ratio = tv, .description = "RegNetY-8.0GF, torchvision group rounding"},
      V{.name = "regnety_120", .w0 = 168, .wa = 73.36, .wm = 2.37, .group_size = 112, .depth = 19, .se_ratio = se,
        .description = "RegNetY-12GF"},
      V{.name = "regnety_160", .w0 = 200, .wa = 106.23, .wm = 2.48, .group_size = 112, .depth = 18, .se_ratio = se,
        .description = "RegNetY-16GF"},
      V{.name = "regnety_320", .w0 = 232, .wa = 115.89, .wm = 2.53, .group_size = 232, .depth = 20, .se_ratio = se,
        .description = "RegNetY-32GF"},
      V{.name = "regnety_640", .w0 = 352, .wa = 147.48, .wm = 2.4, .group_size = 328, .depth = 20, .se_ratio = se,
        .description = "RegNetY-64GF (SEER)"},
      V{.name = "regnety_1280", .w0 = 456, .wa = 160.83, .wm = 2.52, .group_size = 264, .depth = 27, .se_ratio = se,
        .description = "RegNetY-128GF (SEER, SWAG)"},
      V{.name = "regnety_2560", .w0 = 640, .wa = 230.83, .wm = 2.53, .group_size = 373, .depth = 27, .se_ratio = se,
        .description = "RegNetY-256GF (SEER)"},
      // timm's experiments: GroupNorm (groups of 16 channels) + SiLU; pre-activation RegNet-V.
      V{.name = "regnety_040_sgn", .w0 = 96, .wa = 31.41, .wm = 2.24, .group_size = 64, .depth = 22, .se_ratio = se,
        .act_layer = silu, .norm_layer = NormLayer::groupnorm, .norm_group_size = 16,
        .description = "RegNetY-4.0GF with GroupNorm and SiLU"},
      V{.name = "regnetv_040", .w0 = 96, .wa = 31.41, .wm = 2.24, .group_size = 64, .depth = 22, .se_ratio = se,
        .preact = true, .act_layer = silu, .description = "RegNetV-4.0GF (pre-activation)"},
      V{.name = "regnetv_064", .w0 = 112, .wa = 33.22, .wm = 2.27, .group_size = 72, .depth = 25, .se_ratio = se,
        .downsample = Downsample::avg, .preact = true, .act_layer = silu,
        .description = "RegNetV-6.4GF (pre-activation, average-pool shortcut)"},
      // RegNet-Z: inverted bottleneck (bottle_ratio 4), no shortcut where the shape changes, linear block outputs.
      V{.name = "regnetz_005", .w0 = 16, .wa = 10.7, .wm = 2.51, .group_size = 4, .depth = 21, .se_ratio = se,
        .bottle_ratio = 4.0, .downsample = Downsample::none, .linear_out = true, .num_features = 1024,
        .act_layer = silu, .zero_init_last = false, .description = "RegNetZ-500MF"},
      V{.name = "regnetz_040", .w0 = 48, .wa = 14.5, .wm = 2.226, .group_size = 8, .depth = 28, .se_ratio = se,
        .bottle_ratio = 4.0, .downsample = Downsample::none, .linear_out = true, .act_layer = silu,
        .zero_init_last = false, .description = "RegNetZ-4.0GF"},
      V{.name = "regnetz_040_h", .w0 = 48, .wa = 14.5, .wm = 2.226, .group_size = 8, .depth = 28, .se_ratio = se,
        .bottle_ratio = 4.0, .downsample = Downsample::none, .linear_out = true, .num_features = 1536,
        .act_layer = silu, .zero_init_last = false, .description = "RegNetZ-4.0GF with a 1536-wide final conv"},
  };
}();

/// timm's register_model_deprecations for regnet.py: old name → current name, registered as backbone aliases.
struct DeprecatedName {
  std::string_view name;
  std::string_view replacement;
};

inline constexpr std::array<DeprecatedName, 1> kRegNetDeprecatedNames = {{
    {"regnetz_040h", "regnetz_040_h"},
}};

/// Registers every variant with its pretrained tags, and the deprecated names (plugin.cpp; the plugin's register_fn).
void register_regnet(Registrar& registrar);

// Pretrained tables (pretrained.cpp).

/// The tags of `arch` that have weights, as timm's default_cfgs lists them, the default tag first; empty for an
/// architecture timm publishes no weights for.
std::vector<PretrainedCfg> regnet_pretrained_cfgs(std::string_view arch);

/// The cfg a freshly built `arch` reports: its default tag's, or, without weights, timm's untrained cfg for it.
PretrainedCfg regnet_default_cfg(std::string_view arch);

}  // namespace autotimm::regnet
