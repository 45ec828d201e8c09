#pragma once
// Every model name timm's swin_transformer.py registers, as the arguments its entry function passes to
// SwinTransformer, plus timm's deprecated names. The pretrained tables live in pretrained.cpp.
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "autotimm/pretrained_cfg.hpp"
#include "autotimm/registry.hpp"
#include "swin_transformer.hpp"

namespace autotimm::swin {

/// One timm entry point: the architecture arguments it sets; everything else keeps SwinTransformerOptions' defaults.
/// `img_size` is the input size of the name's default tag, which timm passes as img_size when it builds the model
/// (build_model_with_cfg with fixed_input_size).
struct SwinVariant {
  std::string_view name;
  std::int64_t embed_dim = 96;
  std::array<std::int64_t, 4> depths = {2, 2, 6, 2};
  std::array<std::int64_t, 4> num_heads = {3, 6, 12, 24};
  std::array<std::int64_t, 4> window_size = {7, 7, 7, 7};  ///< per stage (the swin_s3 models differ per stage)
  std::int64_t img_size = 224;
  std::string_view description = {};
};

/// The variant's arguments as SwinTransformerOptions (the defaults a user's model_args are merged over).
inline SwinTransformerOptions options_of(const SwinVariant& v) {
  SwinTransformerOptions options{.img_size = {v.img_size, v.img_size},
                                 .patch_size = 4,
                                 .embed_dim = v.embed_dim,
                                 .depths = {v.depths.begin(), v.depths.end()},
                                 .num_heads = {v.num_heads.begin(), v.num_heads.end()}};
  const auto& w = v.window_size;
  if (w[0] == w[1] && w[1] == w[2] && w[2] == w[3]) {
    options.window_size = {w[0]};  // timm passes one int
  } else {
    options.window_size = {w.begin(), w.end()};
  }
  return options;
}

namespace variant_parts {
inline constexpr std::array<std::int64_t, 4> kDepthsT = {2, 2, 6, 2};
inline constexpr std::array<std::int64_t, 4> kDepthsS = {2, 2, 18, 2};
inline constexpr std::array<std::int64_t, 4> kHeadsT = {3, 6, 12, 24};
inline constexpr std::array<std::int64_t, 4> kHeadsB = {4, 8, 16, 32};
inline constexpr std::array<std::int64_t, 4> kHeadsL = {6, 12, 24, 48};
inline constexpr std::array<std::int64_t, 4> kWindow12 = {12, 12, 12, 12};
}  // namespace variant_parts

// In timm's registration order.
inline constexpr auto kSwinVariants = [] {
  using namespace variant_parts;
  return std::array{
      SwinVariant{.name = "swin_tiny_patch4_window7_224", .embed_dim = 96, .depths = kDepthsT, .num_heads = kHeadsT,
                  .description = "Swin-T, 224 px, window 7"},
      SwinVariant{.name = "swin_small_patch4_window7_224", .embed_dim = 96, .depths = kDepthsS, .num_heads = kHeadsT,
                  .description = "Swin-S, 224 px, window 7"},
      SwinVariant{.name = "swin_base_patch4_window7_224", .embed_dim = 128, .depths = kDepthsS, .num_heads = kHeadsB,
                  .description = "Swin-B, 224 px, window 7"},
      SwinVariant{.name = "swin_base_patch4_window12_384", .embed_dim = 128, .depths = kDepthsS, .num_heads = kHeadsB,
                  .window_size = kWindow12, .img_size = 384, .description = "Swin-B, 384 px, window 12"},
      SwinVariant{.name = "swin_large_patch4_window7_224", .embed_dim = 192, .depths = kDepthsS, .num_heads = kHeadsL,
                  .description = "Swin-L, 224 px, window 7"},
      SwinVariant{.name = "swin_large_patch4_window12_384", .embed_dim = 192, .depths = kDepthsS, .num_heads = kHeadsL,
                  .window_size = kWindow12, .img_size = 384, .description = "Swin-L, 384 px, window 12"},
      // AutoFormerV2 (S3) searched Swins: per-stage windows.
      SwinVariant{.name = "swin_s3_tiny_224", .embed_dim = 96, .depths = kDepthsT, .num_heads = kHeadsT,
                  .window_size = {7, 7, 14, 7}, .description = "Swin-S3-T (AutoFormerV2), 224 px"},
      SwinVariant{.name = "swin_s3_small_224", .embed_dim = 96, .depths = kDepthsS, .num_heads = kHeadsT,
                  .window_size = {14, 14, 14, 7}, .description = "Swin-S3-S (AutoFormerV2), 224 px"},
      SwinVariant{.name = "swin_s3_base_224", .embed_dim = 96, .depths = {2, 2, 30, 2}, .num_heads = kHeadsT,
                  .window_size = {7, 7, 14, 7}, .description = "Swin-S3-B (AutoFormerV2), 224 px"},
  };
}();

/// timm's register_model_deprecations for swin_transformer.py: old name → current `arch.tag`, registered as backbone
/// aliases; the tests check every target exists.
struct DeprecatedName {
  std::string_view name;
  std::string_view replacement;
};

inline constexpr std::array<DeprecatedName, 4> kSwinDeprecatedNames = {{
    {"swin_base_patch4_window7_224_in22k", "swin_base_patch4_window7_224.ms_in22k"},
    {"swin_base_patch4_window12_384_in22k", "swin_base_patch4_window12_384.ms_in22k"},
    {"swin_large_patch4_window7_224_in22k", "swin_large_patch4_window7_224.ms_in22k"},
    {"swin_large_patch4_window12_384_in22k", "swin_large_patch4_window12_384.ms_in22k"},
}};

/// Registers every variant with its pretrained tags, and the deprecated names (plugin.cpp; the plugin's register_fn).
void register_swin(Registrar& registrar);

// Pretrained tables (pretrained.cpp).

/// The tags of `arch`, as timm's default_cfgs lists them, the default tag first; empty for an unknown name.
std::vector<PretrainedCfg> swin_pretrained_cfgs(std::string_view arch);

/// The cfg a freshly built `arch` reports: its default tag's (every Swin name has weights).
PretrainedCfg swin_default_cfg(std::string_view arch);

}  // namespace autotimm::swin
