#pragma once
// Every model name timm's resnet.py registers (except the two *_pruned ECA models, see README.md), as the overrides
// its entry function passes to ResNet, plus timm's deprecated names. The pretrained tables live in pretrained.cpp.
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "autotimm/pretrained_cfg.hpp"
#include "autotimm/registry.hpp"
#include "resnet.hpp"

namespace autotimm::resnet {

/// One timm entry point: the architecture arguments it sets; everything else keeps ResNetOptions' defaults.
struct ResNetVariant {
  std::string_view name;
  BlockType block = BlockType::bottleneck;
  std::array<std::int64_t, 4> layers = {3, 4, 6, 3};
  std::int64_t cardinality = 1;
  std::int64_t base_width = 64;
  std::int64_t stem_width = 64;
  StemType stem_type = StemType::single;
  bool avg_down = false;
  bool replace_stem_pool = false;
  std::int64_t down_kernel_size = 1;
  std::int64_t block_reduce_first = 1;
  NormType norm_layer = NormType::batchnorm;
  autotimm::layers::AntiAliasType aa_layer = autotimm::layers::AntiAliasType::none;
  AttnType attn_layer = AttnType::none;
  double attn_rd_ratio = 1.0 / 16.0;
  std::string_view description = {};
};

/// The variant's arguments as ResNetOptions (the defaults a user's model_args are merged over).
inline ResNetOptions options_of(const ResNetVariant& v) {
  return ResNetOptions{.block = v.block,
                       .layers = {v.layers.begin(), v.layers.end()},
                       .cardinality = v.cardinality,
                       .base_width = v.base_width,
                       .stem_width = v.stem_width,
                       .stem_type = v.stem_type,
                       .replace_stem_pool = v.replace_stem_pool,
                       .block_reduce_first = v.block_reduce_first,
                       .down_kernel_size = v.down_kernel_size,
                       .avg_down = v.avg_down,
                       .norm_layer = v.norm_layer,
                       .aa_layer = v.aa_layer,
                       .attn_layer = v.attn_layer,
                       .attn_rd_ratio = v.attn_rd_ratio};
}

namespace variant_parts {
using B = BlockType;
using S = StemType;
using A = AttnType;
using AA = autotimm::layers::AntiAliasType;
inline constexpr std::array<std::int64_t, 4> k2222 = {2, 2, 2, 2};
inline constexpr std::array<std::int64_t, 4> k1111 = {1, 1, 1, 1};
inline constexpr std::array<std::int64_t, 4> k3463 = {3, 4, 6, 3};
inline constexpr std::array<std::int64_t, 4> k34233 = {3, 4, 23, 3};
inline constexpr std::array<std::int64_t, 4> k38363 = {3, 8, 36, 3};
inline constexpr std::array<std::int64_t, 4> k324363 = {3, 24, 36, 3};
inline constexpr std::array<std::int64_t, 4> k330488 = {3, 30, 48, 8};
}  // namespace variant_parts

// In timm's registration order.
inline constexpr auto kResNetVariants = [] {
  using namespace variant_parts;
  return std::array{
      // ResNet, ResNet-C/D/S/T (deep stems, average-pool shortcuts), wide ResNet, GroupNorm ResNet.
      ResNetVariant{.name = "resnet10t", .block = B::basic, .layers = k1111, .stem_width = 32,
                    .stem_type = S::deep_tiered, .avg_down = true, .description = "ResNet-10-T"},
      ResNetVariant{.name = "resnet14t", .layers = k1111, .stem_width = 32, .stem_type = S::deep_tiered,
                    .avg_down = true, .description = "ResNet-14-T"},
      ResNetVariant{.name = "resnet18", .block = B::basic, .layers = k2222, .description = "ResNet-18"},
      ResNetVariant{.name = "resnet18d", .block = B::basic, .layers = k2222, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .description = "ResNet-18-D"},
      ResNetVariant{.name = "resnet34", .block = B::basic, .layers = k3463, .description = "ResNet-34"},
      ResNetVariant{.name = "resnet34d", .block = B::basic, .layers = k3463, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .description = "ResNet-34-D"},
      ResNetVariant{.name = "resnet26", .layers = k2222, .description = "ResNet-26"},
      ResNetVariant{.name = "resnet26t", .layers = k2222, .stem_width = 32, .stem_type = S::deep_tiered,
                    .avg_down = true, .description = "ResNet-26-T"},
      ResNetVariant{.name = "resnet26d", .layers = k2222, .stem_width = 32, .stem_type = S::deep, .avg_down = true,
                    .description = "ResNet-26-D"},
      ResNetVariant{.name = "resnet50", .layers = k3463, .description = "ResNet-50"},
      ResNetVariant{.name = "resnet50c", .layers = k3463, .stem_width = 32, .stem_type = S::deep,
                    .description = "ResNet-50-C"},
      ResNetVariant{.name = "resnet50d", .layers = k3463, .stem_width = 32, .stem_type = S::deep, .avg_down = true,
                    .description = "ResNet-50-D"},
      ResNetVariant{.name = "resnet50s", .layers = k3463, .stem_width = 64, .stem_type = S::deep,
                    .description = "ResNet-50-S"},
      ResNetVariant{.name = "resnet50t", .layers = k3463, .stem_width = 32, .stem_type = S::deep_tiered,
                    .avg_down = true, .description = "ResNet-50-T"},
      ResNetVariant{.name = "resnet101", .layers = k34233, .description = "ResNet-101"},
      ResNetVariant{.name = "resnet101c", .layers = k34233, .stem_width = 32, .stem_type = S::deep,
                    .description = "ResNet-101-C"},
      ResNetVariant{.name = "resnet101d", .layers = k34233, .stem_width = 32, .stem_type = S::deep, .avg_down = true,
                    .description = "ResNet-101-D"},
      ResNetVariant{.name = "resnet101s", .layers = k34233, .stem_width = 64, .stem_type = S::deep,
                    .description = "ResNet-101-S"},
      ResNetVariant{.name = "resnet152", .layers = k38363, .description = "ResNet-152"},
      ResNetVariant{.name = "resnet152c", .layers = k38363, .stem_width = 32, .stem_type = S::deep,
                    .description = "ResNet-152-C"},
      ResNetVariant{.name = "resnet152d", .layers = k38363, .stem_width = 32, .stem_type = S::deep, .avg_down = true,
                    .description = "ResNet-152-D"},
      ResNetVariant{.name = "resnet152s", .layers = k38363, .stem_width = 64, .stem_type = S::deep,
                    .description = "ResNet-152-S"},
      ResNetVariant{.name = "resnet200", .layers = k324363, .description = "ResNet-200"},
      ResNetVariant{.name = "resnet200d", .layers = k324363, .stem_width = 32, .stem_type = S::deep, .avg_down = true,
                    .description = "ResNet-200-D"},
      ResNetVariant{.name = "wide_resnet50_2", .layers = k3463, .base_width = 128, .description = "Wide ResNet-50-2"},
      ResNetVariant{.name = "wide_resnet101_2", .layers = k34233, .base_width = 128,
                    .description = "Wide ResNet-101-2"},
      ResNetVariant{.name = "resnet50_gn", .layers = k3463, .norm_layer = NormType::groupnorm,
                    .description = "ResNet-50 with GroupNorm"},
      // ResNeXt.
      ResNetVariant{.name = "resnext50_32x4d", .layers = k3463, .cardinality = 32, .base_width = 4,
                    .description = "ResNeXt-50 32x4d"},
      ResNetVariant{.name = "resnext50d_32x4d", .layers = k3463, .cardinality = 32, .base_width = 4,
                    .stem_width = 32, .stem_type = S::deep, .avg_down = true, .description = "ResNeXt-50-D 32x4d"},
      ResNetVariant{.name = "resnext101_32x4d", .layers = k34233, .cardinality = 32, .base_width = 4,
                    .description = "ResNeXt-101 32x4d"},
      ResNetVariant{.name = "resnext101_32x8d", .layers = k34233, .cardinality = 32, .base_width = 8,
                    .description = "ResNeXt-101 32x8d"},
      ResNetVariant{.name = "resnext101_32x16d", .layers = k34233, .cardinality = 32, .base_width = 16,
                    .description = "ResNeXt-101 32x16d"},
      ResNetVariant{.name = "resnext101_32x32d", .layers = k34233, .cardinality = 32, .base_width = 32,
                    .description = "ResNeXt-101 32x32d"},
      ResNetVariant{.name = "resnext101_64x4d", .layers = k34233, .cardinality = 64, .base_width = 4,
                    .description = "ResNeXt-101 64x4d"},
      // Efficient Channel Attention.
      ResNetVariant{.name = "ecaresnet26t", .layers = k2222, .stem_width = 32, .stem_type = S::deep_tiered,
                    .avg_down = true, .attn_layer = A::eca, .description = "ECA-ResNet-26-T"},
      ResNetVariant{.name = "ecaresnet50d", .layers = k3463, .stem_width = 32, .stem_type = S::deep, .avg_down = true,
                    .attn_layer = A::eca, .description = "ECA-ResNet-50-D"},
      ResNetVariant{.name = "ecaresnet50t", .layers = k3463, .stem_width = 32, .stem_type = S::deep_tiered,
                    .avg_down = true, .attn_layer = A::eca, .description = "ECA-ResNet-50-T"},
      ResNetVariant{.name = "ecaresnetlight", .layers = {1, 1, 11, 3}, .stem_width = 32, .avg_down = true,
                    .attn_layer = A::eca, .description = "ECA-ResNet-light"},
      ResNetVariant{.name = "ecaresnet101d", .layers = k34233, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .attn_layer = A::eca, .description = "ECA-ResNet-101-D"},
      ResNetVariant{.name = "ecaresnet200d", .layers = k324363, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .attn_layer = A::eca, .description = "ECA-ResNet-200-D"},
      ResNetVariant{.name = "ecaresnet269d", .layers = k330488, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .attn_layer = A::eca, .description = "ECA-ResNet-269-D"},
      ResNetVariant{.name = "ecaresnext26t_32x4d", .layers = k2222, .cardinality = 32, .base_width = 4,
                    .stem_width = 32, .stem_type = S::deep_tiered, .avg_down = true, .attn_layer = A::eca,
                    .description = "ECA-ResNeXt-26-T 32x4d"},
      // timm gives ecaresnext50t_32x4d the 26-layer depths of ecaresnext26t_32x4d; kept as is.
      ResNetVariant{.name = "ecaresnext50t_32x4d", .layers = k2222, .cardinality = 32, .base_width = 4,
                    .stem_width = 32, .stem_type = S::deep_tiered, .avg_down = true, .attn_layer = A::eca,
                    .description = "ECA-ResNeXt-50-T 32x4d"},
      // Squeeze-and-Excitation ResNet / ResNeXt, SENet-154.
      ResNetVariant{.name = "seresnet18", .block = B::basic, .layers = k2222, .attn_layer = A::se,
                    .description = "SE-ResNet-18"},
      ResNetVariant{.name = "seresnet34", .block = B::basic, .layers = k3463, .attn_layer = A::se,
                    .description = "SE-ResNet-34"},
      ResNetVariant{.name = "seresnet50", .layers = k3463, .attn_layer = A::se, .description = "SE-ResNet-50"},
      ResNetVariant{.name = "seresnet50t", .layers = k3463, .stem_width = 32, .stem_type = S::deep_tiered,
                    .avg_down = true, .attn_layer = A::se, .description = "SE-ResNet-50-T"},
      ResNetVariant{.name = "seresnet101", .layers = k34233, .attn_layer = A::se, .description = "SE-ResNet-101"},
      ResNetVariant{.name = "seresnet152", .layers = k38363, .attn_layer = A::se, .description = "SE-ResNet-152"},
      ResNetVariant{.name = "seresnet152d", .layers = k38363, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .attn_layer = A::se, .description = "SE-ResNet-152-D"},
      ResNetVariant{.name = "seresnet200d", .layers = k324363, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .attn_layer = A::se, .description = "SE-ResNet-200-D"},
      ResNetVariant{.name = "seresnet269d", .layers = k330488, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .attn_layer = A::se, .description = "SE-ResNet-269-D"},
      ResNetVariant{.name = "seresnext26d_32x4d", .layers = k2222, .cardinality = 32, .base_width = 4,
                    .stem_width = 32, .stem_type = S::deep, .avg_down = true, .attn_layer = A::se,
                    .description = "SE-ResNeXt-26-D 32x4d"},
      ResNetVariant{.name = "seresnext26t_32x4d", .layers = k2222, .cardinality = 32, .base_width = 4,
                    .stem_width = 32, .stem_type = S::deep_tiered, .avg_down = true, .attn_layer = A::se,
                    .description = "SE-ResNeXt-26-T 32x4d"},
      ResNetVariant{.name = "seresnext50_32x4d", .layers = k3463, .cardinality = 32, .base_width = 4,
                    .attn_layer = A::se, .description = "SE-ResNeXt-50 32x4d"},
      ResNetVariant{.name = "seresnext101_32x4d", .layers = k34233, .cardinality = 32, .base_width = 4,
                    .attn_layer = A::se, .description = "SE-ResNeXt-101 32x4d"},
      ResNetVariant{.name = "seresnext101_32x8d", .layers = k34233, .cardinality = 32, .base_width = 8,
                    .attn_layer = A::se, .description = "SE-ResNeXt-101 32x8d"},
      ResNetVariant{.name = "seresnext101d_32x8d", .layers = k34233, .cardinality = 32, .base_width = 8,
                    .stem_width = 32, .stem_type = S::deep, .avg_down = true, .attn_layer = A::se,
                    .description = "SE-ResNeXt-101-D 32x8d"},
      ResNetVariant{.name = "seresnext101_64x4d", .layers = k34233, .cardinality = 64, .base_width = 4,
                    .attn_layer = A::se, .description = "SE-ResNeXt-101 64x4d"},
      ResNetVariant{.name = "senet154", .layers = k38363, .cardinality = 64, .base_width = 4, .stem_type = S::deep,
                    .down_kernel_size = 3, .block_reduce_first = 2, .attn_layer = A::se,
                    .description = "SENet-154"},
      // Anti-aliased: blur pool and average pool.
      ResNetVariant{.name = "resnetblur18", .block = B::basic, .layers = k2222, .aa_layer = AA::blurpool,
                    .description = "ResNet-18 with blur-pool anti-aliasing"},
      ResNetVariant{.name = "resnetblur50", .layers = k3463, .aa_layer = AA::blurpool,
                    .description = "ResNet-50 with blur-pool anti-aliasing"},
      ResNetVariant{.name = "resnetblur50d", .layers = k3463, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .aa_layer = AA::blurpool,
                    .description = "ResNet-50-D with blur-pool anti-aliasing"},
      ResNetVariant{.name = "resnetblur101d", .layers = k34233, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .aa_layer = AA::blurpool,
                    .description = "ResNet-101-D with blur-pool anti-aliasing"},
      ResNetVariant{.name = "resnetaa34d", .block = B::basic, .layers = k3463, .stem_width = 32,
                    .stem_type = S::deep, .avg_down = true, .aa_layer = AA::avgpool,
                    .description = "ResNet-34-D with average-pool anti-aliasing"},
      ResNetVariant{.name = "resnetaa50", .layers = k3463, .aa_layer = AA::avgpool,
                    .description = "ResNet-50 with average-pool anti-aliasing"},
      ResNetVariant{.name = "resnetaa50d", .layers = k3463, .stem_width = 32, .stem_type = S::deep, .avg_down = true,
                    .aa_layer = AA::avgpool, .description = "ResNet-50-D with average-pool anti-aliasing"},
      ResNetVariant{.name = "resnetaa101d", .layers = k34233, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .aa_layer = AA::avgpool,
                    .description = "ResNet-101-D with average-pool anti-aliasing"},
      ResNetVariant{.name = "seresnetaa50d", .layers = k3463, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .aa_layer = AA::avgpool, .attn_layer = A::se,
                    .description = "SE-ResNet-50-D with average-pool anti-aliasing"},
      ResNetVariant{.name = "seresnextaa101d_32x8d", .layers = k34233, .cardinality = 32, .base_width = 8,
                    .stem_width = 32, .stem_type = S::deep, .avg_down = true, .aa_layer = AA::avgpool,
                    .attn_layer = A::se, .description = "SE-ResNeXt-101-D 32x8d with average-pool anti-aliasing"},
      ResNetVariant{.name = "seresnextaa201d_32x8d", .layers = {3, 24, 36, 4}, .cardinality = 32, .base_width = 8,
                    .stem_width = 64, .stem_type = S::deep, .avg_down = true, .aa_layer = AA::avgpool,
                    .attn_layer = A::se, .description = "SE-ResNeXt-201-D 32x8d with average-pool anti-aliasing"},
      // ResNet-RS: deep stem, conv stem pool, average-pool shortcuts, SE with a 1/4 reduction.
      ResNetVariant{.name = "resnetrs50", .layers = k3463, .stem_width = 32, .stem_type = S::deep, .avg_down = true,
                    .replace_stem_pool = true, .attn_layer = A::se, .attn_rd_ratio = 0.25,
                    .description = "ResNet-RS-50"},
      ResNetVariant{.name = "resnetrs101", .layers = k34233, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .replace_stem_pool = true, .attn_layer = A::se, .attn_rd_ratio = 0.25,
                    .description = "ResNet-RS-101"},
      ResNetVariant{.name = "resnetrs152", .layers = k38363, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .replace_stem_pool = true, .attn_layer = A::se, .attn_rd_ratio = 0.25,
                    .description = "ResNet-RS-152"},
      ResNetVariant{.name = "resnetrs200", .layers = k324363, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .replace_stem_pool = true, .attn_layer = A::se, .attn_rd_ratio = 0.25,
                    .description = "ResNet-RS-200"},
      ResNetVariant{.name = "resnetrs270", .layers = {4, 29, 53, 4}, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .replace_stem_pool = true, .attn_layer = A::se, .attn_rd_ratio = 0.25,
                    .description = "ResNet-RS-270"},
      ResNetVariant{.name = "resnetrs350", .layers = {4, 36, 72, 4}, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .replace_stem_pool = true, .attn_layer = A::se, .attn_rd_ratio = 0.25,
                    .description = "ResNet-RS-350"},
      ResNetVariant{.name = "resnetrs420", .layers = {4, 44, 87, 4}, .stem_width = 32, .stem_type = S::deep,
                    .avg_down = true, .replace_stem_pool = true, .attn_layer = A::se, .attn_rd_ratio = 0.25,
                    .description = "ResNet-RS-420"},
  };
}();

/// timm's register_model_deprecations for resnet.py: old name → current `arch.tag` (or arch), registered as backbone
/// aliases; the tests check every target exists.
struct DeprecatedName {
  std::string_view name;
  std::string_view replacement;
};

inline constexpr std::array<DeprecatedName, 43> kResNetDeprecatedNames = {{
    {"tv_resnet34", "resnet34.tv_in1k"},
    {"tv_resnet50", "resnet50.tv_in1k"},
    {"tv_resnet101", "resnet101.tv_in1k"},
    {"tv_resnet152", "resnet152.tv_in1k"},
    {"tv_resnext50_32x4d", "resnext50_32x4d.tv_in1k"},
    // timm maps all four ig_ names to the 32x8d weights; reproduced as published.
    {"ig_resnext101_32x8d", "resnext101_32x8d.fb_wsl_ig1b_ft_in1k"},
    {"ig_resnext101_32x16d", "resnext101_32x8d.fb_wsl_ig1b_ft_in1k"},
    {"ig_resnext101_32x32d", "resnext101_32x8d.fb_wsl_ig1b_ft_in1k"},
    {"ig_resnext101_32x48d", "resnext101_32x8d.fb_wsl_ig1b_ft_in1k"},
    {"ssl_resnet18", "resnet18.fb_ssl_yfcc100m_ft_in1k"},
    {"ssl_resnet50", "resnet50.fb_ssl_yfcc100m_ft_in1k"},
    {"ssl_resnext50_32x4d", "resnext50_32x4d.fb_ssl_yfcc100m_ft_in1k"},
    {"ssl_resnext101_32x4d", "resnext101_32x4d.fb_ssl_yfcc100m_ft_in1k"},
    {"ssl_resnext101_32x8d", "resnext101_32x8d.fb_ssl_yfcc100m_ft_in1k"},
    {"ssl_resnext101_32x16d", "resnext101_32x16d.fb_ssl_yfcc100m_ft_in1k"},
    {"swsl_resnet18", "resnet18.fb_swsl_ig1b_ft_in1k"},
    {"swsl_resnet50", "resnet50.fb_swsl_ig1b_ft_in1k"},
    {"swsl_resnext50_32x4d", "resnext50_32x4d.fb_swsl_ig1b_ft_in1k"},
    {"swsl_resnext101_32x4d", "resnext101_32x4d.fb_swsl_ig1b_ft_in1k"},
    {"swsl_resnext101_32x8d", "resnext101_32x8d.fb_swsl_ig1b_ft_in1k"},
    {"swsl_resnext101_32x16d", "resnext101_32x16d.fb_swsl_ig1b_ft_in1k"},
    {"gluon_resnet18_v1b", "resnet18.gluon_in1k"},
    {"gluon_resnet34_v1b", "resnet34.gluon_in1k"},
    {"gluon_resnet50_v1b", "resnet50.gluon_in1k"},
    {"gluon_resnet101_v1b", "resnet101.gluon_in1k"},
    {"gluon_resnet152_v1b", "resnet152.gluon_in1k"},
    {"gluon_resnet50_v1c", "resnet50c.gluon_in1k"},
    {"gluon_resnet101_v1c", "resnet101c.gluon_in1k"},
    {"gluon_resnet152_v1c", "resnet152c.gluon_in1k"},
    {"gluon_resnet50_v1d", "resnet50d.gluon_in1k"},
    {"gluon_resnet101_v1d", "resnet101d.gluon_in1k"},
    {"gluon_resnet152_v1d", "resnet152d.gluon_in1k"},
    {"gluon_resnet50_v1s", "resnet50s.gluon_in1k"},
    {"gluon_resnet101_v1s", "resnet101s.gluon_in1k"},
    {"gluon_resnet152_v1s", "resnet152s.gluon_in1k"},
    {"gluon_resnext50_32x4d", "resnext50_32x4d.gluon_in1k"},
    {"gluon_resnext101_32x4d", "resnext101_32x4d.gluon_in1k"},
    {"gluon_resnext101_64x4d", "resnext101_64x4d.gluon_in1k"},
    {"gluon_seresnext50_32x4d", "seresnext50_32x4d.gluon_in1k"},
    {"gluon_seresnext101_32x4d", "seresnext101_32x4d.gluon_in1k"},
    {"gluon_seresnext101_64x4d", "seresnext101_64x4d.gluon_in1k"},
    {"gluon_senet154", "senet154.gluon_in1k"},
    {"seresnext26tn_32x4d", "seresnext26t_32x4d"},
}};

/// Registers every variant with its pretrained tags (plugin.cpp; the plugin's register_fn).
void register_resnet(Registrar& registrar);

// Pretrained tables (pretrained.cpp).

/// The tags of `arch` that have weights, as timm's default_cfgs lists them, the default tag first; empty for an
/// architecture timm publishes no weights for.
std::vector<PretrainedCfg> resnet_pretrained_cfgs(std::string_view arch);

/// The cfg a freshly built `arch` reports: its default tag's, or, without weights, timm's untrained cfg for it
/// (tag empty, same preprocessing, first_conv and classifier).
PretrainedCfg resnet_default_cfg(std::string_view arch);

}  // namespace autotimm::resnet
