#pragma once
// The ViT and DeiT model names this plugin provides (see README.md for the ones it leaves out), as the arguments
// timm's entry functions pass to VisionTransformer, plus timm's deprecated names. The pretrained tables live in
// pretrained.cpp.
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "autotimm/pretrained_cfg.hpp"
#include "autotimm/registry.hpp"
#include "vision_transformer.hpp"

namespace autotimm::vit {

/// timm's fc_norm=None (decided by the pool), True or False.
enum class FcNorm { automatic, on, off };

/// One timm entry point: the architecture arguments it sets; everything else keeps VisionTransformerOptions'
/// defaults. `img_size` is the input size of the name's default tag, which timm passes as img_size when it builds
/// the model (build_model_with_cfg with fixed_input_size).
struct VitVariant {
  std::string_view name;
  std::int64_t patch_size = 16;
  std::int64_t embed_dim = 768;
  std::int64_t depth = 12;
  std::int64_t num_heads = 12;
  double mlp_ratio = 4.0;
  std::int64_t img_size = 224;
  bool class_token = true;
  GlobalPool global_pool = GlobalPool::token;
  std::int64_t reg_tokens = 0;
  bool no_embed_class = false;
  double init_values = 0.0;  ///< 0: no layer scale
  bool qkv_bias = true;
  FcNorm fc_norm = FcNorm::automatic;
  bool distilled = false;  ///< deit.py's VisionTransformerDistilled
  std::string_view description = {};
};

/// The variant's arguments as VisionTransformerOptions (the defaults a user's model_args are merged over).
inline VisionTransformerOptions options_of(const VitVariant& v) {
  VisionTransformerOptions options{.img_size = {v.img_size, v.img_size},
                                   .patch_size = v.patch_size,
                                   .global_pool = v.global_pool,
                                   .embed_dim = v.embed_dim,
                                   .depth = v.depth,
                                   .num_heads = v.num_heads,
                                   .mlp_ratio = v.mlp_ratio,
                                   .qkv_bias = v.qkv_bias,
                                   .class_token = v.class_token,
                                   .no_embed_class = v.no_embed_class,
                                   .reg_tokens = v.reg_tokens,
                                   .distilled = v.distilled};
  if (v.init_values != 0.0) options.init_values = v.init_values;
  if (v.fc_norm != FcNorm::automatic) options.fc_norm = v.fc_norm == FcNorm::on;
  return options;
}

// In timm's registration order: vision_transformer.py, then deit.py.
inline constexpr auto kVitVariants = [] {
  using P = GlobalPool;
  return std::array{
      // The original ViT sizes (vision_transformer.py): class token, token pool.
      VitVariant{.name = "vit_tiny_patch16_224", .embed_dim = 192, .num_heads = 3, .description = "ViT-Ti/16"},
      VitVariant{.name = "vit_tiny_patch16_384", .embed_dim = 192, .num_heads = 3, .img_size = 384,
                 .description = "ViT-Ti/16 @ 384"},
      VitVariant{.name = "vit_small_patch32_224", .patch_size = 32, .embed_dim = 384, .num_heads = 6,
                 .description = "ViT-S/32"},
      VitVariant{.name = "vit_small_patch32_384", .patch_size = 32, .embed_dim = 384, .num_heads = 6, .img_size = 384,
                 .description = "ViT-S/32 @ 384"},
      VitVariant{.name = "vit_small_patch16_224", .embed_dim = 384, .num_heads = 6, .description = "ViT-S/16"},
      VitVariant{.name = "vit_small_patch16_384", .embed_dim = 384, .num_heads = 6, .img_size = 384,
                 .description = "ViT-S/16 @ 384"},
      VitVariant{.name = "vit_small_patch8_224", .patch_size = 8, .embed_dim = 384, .num_heads = 6,
                 .description = "ViT-S/8"},
      VitVariant{.name = "vit_base_patch32_224", .patch_size = 32, .description = "ViT-B/32"},
      VitVariant{.name = "vit_base_patch32_384", .patch_size = 32, .img_size = 384, .description = "ViT-B/32 @ 384"},
      VitVariant{.name = "vit_base_patch16_224", .description = "ViT-B/16"},
      VitVariant{.name = "vit_base_patch16_384", .img_size = 384, .description = "ViT-B/16 @ 384"},
      VitVariant{.name = "vit_base_patch8_224", .patch_size = 8, .description = "ViT-B/8"},
      VitVariant{.name = "vit_large_patch32_224", .patch_size = 32, .embed_dim = 1024, .depth = 24, .num_heads = 16,
                 .description = "ViT-L/32"},
      VitVariant{.name = "vit_large_patch32_384", .patch_size = 32, .embed_dim = 1024, .depth = 24, .num_heads = 16,
                 .img_size = 384, .description = "ViT-L/32 @ 384"},
      VitVariant{.name = "vit_large_patch16_224", .embed_dim = 1024, .depth = 24, .num_heads = 16,
                 .description = "ViT-L/16"},
      VitVariant{.name = "vit_large_patch16_384", .embed_dim = 1024, .depth = 24, .num_heads = 16, .img_size = 384,
                 .description = "ViT-L/16 @ 384"},
      // Without a class token: global average pool over the patch tokens.
      VitVariant{.name = "vit_medium_patch16_gap_240", .embed_dim = 512, .num_heads = 8, .img_size = 240,
                 .class_token = false, .global_pool = P::avg, .init_values = 1e-6, .qkv_bias = false,
                 .fc_norm = FcNorm::off, .description = "ViT-M/16, no class token, avg pool @ 240"},
      VitVariant{.name = "vit_medium_patch16_gap_256", .embed_dim = 512, .num_heads = 8, .img_size = 256,
                 .class_token = false, .global_pool = P::avg, .init_values = 1e-6, .qkv_bias = false,
                 .fc_norm = FcNorm::off, .description = "ViT-M/16, no class token, avg pool @ 256"},
      VitVariant{.name = "vit_medium_patch16_gap_384", .embed_dim = 512, .num_heads = 8, .img_size = 384,
                 .class_token = false, .global_pool = P::avg, .init_values = 1e-6, .qkv_bias = false,
                 .fc_norm = FcNorm::off, .description = "ViT-M/16, no class token, avg pool @ 384"},
      VitVariant{.name = "vit_base_patch16_gap_224", .num_heads = 16, .class_token = false, .global_pool = P::avg,
                 .fc_norm = FcNorm::off, .description = "ViT-B/16, no class token, avg pool"},
      // DINOv2 (layer scale), with and without register tokens.
      VitVariant{.name = "vit_small_patch14_dinov2", .patch_size = 14, .embed_dim = 384, .num_heads = 6,
                 .img_size = 518, .init_values = 1e-5, .description = "ViT-S/14 DINOv2"},
      VitVariant{.name = "vit_base_patch14_dinov2", .patch_size = 14, .img_size = 518, .init_values = 1e-5,
                 .description = "ViT-B/14 DINOv2"},
      VitVariant{.name = "vit_large_patch14_dinov2", .patch_size = 14, .embed_dim = 1024, .depth = 24,
                 .num_heads = 16, .img_size = 518, .init_values = 1e-5, .description = "ViT-L/14 DINOv2"},
      VitVariant{.name = "vit_small_patch14_reg4_dinov2", .patch_size = 14, .embed_dim = 384, .num_heads = 6,
                 .img_size = 518, .reg_tokens = 4, .no_embed_class = true, .init_values = 1e-5,
                 .description = "ViT-S/14 DINOv2, 4 registers"},
      VitVariant{.name = "vit_base_patch14_reg4_dinov2", .patch_size = 14, .img_size = 518, .reg_tokens = 4,
                 .no_embed_class = true, .init_values = 1e-5, .description = "ViT-B/14 DINOv2, 4 registers"},
      VitVariant{.name = "vit_large_patch14_reg4_dinov2", .patch_size = 14, .embed_dim = 1024, .depth = 24,
                 .num_heads = 16, .img_size = 518, .reg_tokens = 4, .no_embed_class = true, .init_values = 1e-5,
                 .description = "ViT-L/14 DINOv2, 4 registers"},
      // Register tokens without a class token (timm's "sbb" recipes).
      VitVariant{.name = "vit_medium_patch16_reg4_gap_256", .embed_dim = 512, .num_heads = 8, .img_size = 256,
                 .class_token = false, .global_pool = P::avg, .reg_tokens = 4, .no_embed_class = true,
                 .init_values = 1e-5, .description = "ViT-M/16, 4 registers, avg pool @ 256"},
      VitVariant{.name = "vit_betwixt_patch16_reg4_gap_256", .embed_dim = 640, .num_heads = 10, .img_size = 256,
                 .class_token = false, .global_pool = P::avg, .reg_tokens = 4, .no_embed_class = true,
                 .init_values = 1e-5, .description = "ViT-b/16 (betwixt), 4 registers, avg pool @ 256"},
      VitVariant{.name = "vit_base_patch16_reg4_gap_256", .img_size = 256, .class_token = false,
                 .global_pool = P::avg, .reg_tokens = 4, .no_embed_class = true,
                 .description = "ViT-B/16, 4 registers, avg pool @ 256"},
      // DeiT (deit.py): the ViT architecture with ImageNet-1k recipes; distilled models add a distillation token.
      VitVariant{.name = "deit_tiny_patch16_224", .embed_dim = 192, .num_heads = 3, .description = "DeiT-Ti/16"},
      VitVariant{.name = "deit_small_patch16_224", .embed_dim = 384, .num_heads = 6, .description = "DeiT-S/16"},
      VitVariant{.name = "deit_base_patch16_224", .description = "DeiT-B/16"},
      VitVariant{.name = "deit_base_patch16_384", .img_size = 384, .description = "DeiT-B/16 @ 384"},
      VitVariant{.name = "deit_tiny_distilled_patch16_224", .embed_dim = 192, .num_heads = 3, .distilled = true,
                 .description = "DeiT-Ti/16 distilled"},
      VitVariant{.name = "deit_small_distilled_patch16_224", .embed_dim = 384, .num_heads = 6, .distilled = true,
                 .description = "DeiT-S/16 distilled"},
      VitVariant{.name = "deit_base_distilled_patch16_224", .distilled = true, .description = "DeiT-B/16 distilled"},
      VitVariant{.name = "deit_base_distilled_patch16_384", .img_size = 384, .distilled = true,
                 .description = "DeiT-B/16 distilled @ 384"},
      // DeiT III: layer scale, position embedding without the class token.
      VitVariant{.name = "deit3_small_patch16_224", .embed_dim = 384, .num_heads = 6, .no_embed_class = true,
                 .init_values = 1e-6, .description = "DeiT III-S/16"},
      VitVariant{.name = "deit3_small_patch16_384", .embed_dim = 384, .num_heads = 6, .img_size = 384,
                 .no_embed_class = true, .init_values = 1e-6, .description = "DeiT III-S/16 @ 384"},
      VitVariant{.name = "deit3_medium_patch16_224", .embed_dim = 512, .num_heads = 8, .no_embed_class = true,
                 .init_values = 1e-6, .description = "DeiT III-M/16"},
      VitVariant{.name = "deit3_base_patch16_224", .no_embed_class = true, .init_values = 1e-6,
                 .description = "DeiT III-B/16"},
      VitVariant{.name = "deit3_base_patch16_384", .img_size = 384, .no_embed_class = true, .init_values = 1e-6,
                 .description = "DeiT III-B/16 @ 384"},
      VitVariant{.name = "deit3_large_patch16_224", .embed_dim = 1024, .depth = 24, .num_heads = 16,
                 .no_embed_class = true, .init_values = 1e-6, .description = "DeiT III-L/16"},
      VitVariant{.name = "deit3_large_patch16_384", .embed_dim = 1024, .depth = 24, .num_heads = 16, .img_size = 384,
                 .no_embed_class = true, .init_values = 1e-6, .description = "DeiT III-L/16 @ 384"},
      VitVariant{.name = "deit3_huge_patch14_224", .patch_size = 14, .embed_dim = 1280, .depth = 32, .num_heads = 16,
                 .no_embed_class = true, .init_values = 1e-6, .description = "DeiT III-H/14"},
  };
}();

/// A deprecated timm name and the `arch.tag` (or architecture) that replaces it.
struct DeprecatedName {
  std::string_view name;
  std::string_view replacement;
};

// timm's register_model_deprecations for vision_transformer.py, for the names this plugin provides. timm's
// `*_sam` entries point at a tag that does not exist ('.sam'; the tag is sam_in1k) and are left out.
inline constexpr std::array<DeprecatedName, 12> kVitDeprecatedNames = {{
    {"vit_tiny_patch16_224_in21k", "vit_tiny_patch16_224.augreg_in21k"},
    {"vit_small_patch32_224_in21k", "vit_small_patch32_224.augreg_in21k"},
    {"vit_small_patch16_224_in21k", "vit_small_patch16_224.augreg_in21k"},
    {"vit_base_patch32_224_in21k", "vit_base_patch32_224.augreg_in21k"},
    {"vit_base_patch16_224_in21k", "vit_base_patch16_224.augreg_in21k"},
    {"vit_base_patch8_224_in21k", "vit_base_patch8_224.augreg_in21k"},
    {"vit_large_patch32_224_in21k", "vit_large_patch32_224.orig_in21k"},
    {"vit_large_patch16_224_in21k", "vit_large_patch16_224.augreg_in21k"},
    {"vit_small_patch16_224_dino", "vit_small_patch16_224.dino"},
    {"vit_small_patch8_224_dino", "vit_small_patch8_224.dino"},
    {"vit_base_patch16_224_dino", "vit_base_patch16_224.dino"},
    {"vit_base_patch8_224_dino", "vit_base_patch8_224.dino"},
}};

/// Registers every variant with its pretrained tags, and the deprecated names (plugin.cpp; the plugin's register_fn).
void register_vit(Registrar& registrar);

// Pretrained tables (pretrained.cpp).

/// The tags of `arch` that have weights, as timm's default_cfgs lists them, the default tag first; empty for an
/// architecture timm publishes no weights for.
std::vector<PretrainedCfg> vit_pretrained_cfgs(std::string_view arch);

/// The cfg a freshly built `arch` reports: its default tag's, or, without weights, timm's untrained cfg for it.
PretrainedCfg vit_default_cfg(std::string_view arch);

}  // namespace autotimm::vit
