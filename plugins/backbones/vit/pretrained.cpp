// timm's default_cfgs for the names in variants.hpp (vision_transformer.py, then deit.py) as `arch.tag` →
// PretrainedCfg, in timm's order. The first tag with weights is an architecture's default (timm's
// generate_default_cfgs); "untrained" entries only give an architecture without weights its preprocessing defaults.
// Hub ids are timm's: "timm/<arch>.<tag>".
#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "autotimm/pretrained_table.hpp"
#include "variants.hpp"

namespace autotimm::vit {
namespace {

// The cfg helpers: vision_transformer.py's _cfg (Inception mean/std 0.5, crop 0.9) and deit.py's _cfg (ImageNet
// mean/std, crop 0.9). Both bicubic with a fixed input size, first conv patch_embed.proj, classifier head.
enum class Recipe { vit, deit };

enum class License { apache, cc_by_nc };

// What an entry changes over its recipe; 0 / unset keeps the recipe's value.
struct Tweaks {
  std::int64_t input_size = 0;
  std::optional<double> crop_pct = {};
  bool squash = false;          // crop_mode 'squash'
  bool imagenet_mean_std = false;  // IMAGENET_DEFAULT_MEAN/STD instead of the recipe's
  std::optional<std::int64_t> num_classes = {};  // 0 for feature-only (self-supervised) weights
  License license = License::apache;
  bool untrained = false;  // no weights: the cfg only describes preprocessing
};

struct TagEntry {
  std::string_view key;  // arch.tag
  Recipe recipe;
  Tweaks tweaks;
};

constexpr Tweaks k384{.input_size = 384, .crop_pct = 1.0};
constexpr Tweaks kIn21k{.num_classes = 21843};
constexpr Tweaks kFeatures{.num_classes = 0};
constexpr Tweaks kSelfSupervised{.imagenet_mean_std = true, .num_classes = 0};
constexpr Tweaks kDinoV2{.input_size = 518, .crop_pct = 1.0, .imagenet_mean_std = true, .num_classes = 0};
constexpr Tweaks kMae{.imagenet_mean_std = true, .num_classes = 0, .license = License::cc_by_nc};
constexpr Tweaks kSbb256{.input_size = 256, .crop_pct = 0.95};
constexpr Tweaks kSbb256In12k{.input_size = 256, .crop_pct = 0.95, .num_classes = 11821};

constexpr TagEntry kTags[] = {
    // vision_transformer.py
    {"vit_base_patch16_224.augreg2_in21k_ft_in1k", Recipe::vit, {}},
    {"vit_base_patch8_224.augreg2_in21k_ft_in1k", Recipe::vit, {}},
    {"vit_tiny_patch16_224.augreg_in21k_ft_in1k", Recipe::vit, {}},
    {"vit_tiny_patch16_384.augreg_in21k_ft_in1k", Recipe::vit, k384},
    {"vit_small_patch32_224.augreg_in21k_ft_in1k", Recipe::vit, {}},
    {"vit_small_patch32_384.augreg_in21k_ft_in1k", Recipe::vit, k384},
    {"vit_small_patch16_224.augreg_in21k_ft_in1k", Recipe::vit, {}},
    {"vit_small_patch16_384.augreg_in21k_ft_in1k", Recipe::vit, k384},
    {"vit_base_patch32_224.augreg_in21k_ft_in1k", Recipe::vit, {}},
    {"vit_base_patch32_384.augreg_in21k_ft_in1k", Recipe::vit, k384},
    {"vit_base_patch16_224.augreg_in21k_ft_in1k", Recipe::vit, {}},
    {"vit_base_patch16_384.augreg_in21k_ft_in1k", Recipe::vit, k384},
    {"vit_base_patch8_224.augreg_in21k_ft_in1k", Recipe::vit, {}},
    {"vit_large_patch16_224.augreg_in21k_ft_in1k", Recipe::vit, {}},
    {"vit_large_patch16_384.augreg_in21k_ft_in1k", Recipe::vit, k384},
    {"vit_base_patch16_224.orig_in21k_ft_in1k", Recipe::vit, {}},
    {"vit_base_patch16_384.orig_in21k_ft_in1k", Recipe::vit, k384},
    {"vit_large_patch32_384.orig_in21k_ft_in1k", Recipe::vit, k384},
    {"vit_small_patch16_224.augreg_in1k", Recipe::vit, {}},
    {"vit_small_patch16_384.augreg_in1k", Recipe::vit, k384},
    {"vit_base_patch32_224.augreg_in1k", Recipe::vit, {}},
    {"vit_base_patch32_384.augreg_in1k", Recipe::vit, k384},
    {"vit_base_patch16_224.augreg_in1k", Recipe::vit, {}},
    {"vit_base_patch16_384.augreg_in1k", Recipe::vit, k384},
    {"vit_base_patch32_224.orig_in21k", Recipe::vit, kFeatures},
    {"vit_base_patch16_224.orig_in21k", Recipe::vit, kFeatures},
    {"vit_large_patch32_224.orig_in21k", Recipe::vit, kFeatures},
    {"vit_large_patch16_224.orig_in21k", Recipe::vit, kFeatures},
    {"vit_tiny_patch16_224.augreg_in21k", Recipe::vit, kIn21k},
    {"vit_small_patch32_224.augreg_in21k", Recipe::vit, kIn21k},
    {"vit_small_patch16_224.augreg_in21k", Recipe::vit, kIn21k},
    {"vit_base_patch32_224.augreg_in21k", Recipe::vit, kIn21k},
    {"vit_base_patch16_224.augreg_in21k", Recipe::vit, kIn21k},
    {"vit_base_patch8_224.augreg_in21k", Recipe::vit, kIn21k},
    {"vit_large_patch16_224.augreg_in21k", Recipe::vit, kIn21k},
    {"vit_base_patch32_224.sam_in1k", Recipe::vit, {}},
    {"vit_base_patch16_224.sam_in1k", Recipe::vit, {}},
    {"vit_small_patch16_224.dino", Recipe::vit, kSelfSupervised},
    {"vit_small_patch8_224.dino", Recipe::vit, kSelfSupervised},
    {"vit_base_patch16_224.dino", Recipe::vit, kSelfSupervised},
    {"vit_base_patch8_224.dino", Recipe::vit, kSelfSupervised},
    {"vit_small_patch14_dinov2.lvd142m", Recipe::vit, kDinoV2},
    {"vit_base_patch14_dinov2.lvd142m", Recipe::vit, kDinoV2},
    {"vit_large_patch14_dinov2.lvd142m", Recipe::vit, kDinoV2},
    {"vit_small_patch14_reg4_dinov2.lvd142m", Recipe::vit, kDinoV2},
    {"vit_base_patch14_reg4_dinov2.lvd142m", Recipe::vit, kDinoV2},
    {"vit_large_patch14_reg4_dinov2.lvd142m", Recipe::vit, kDinoV2},
    {"vit_medium_patch16_gap_240.sw_in12k", Recipe::vit, {.input_size = 240, .crop_pct = 0.95, .num_classes = 11821}},
    {"vit_medium_patch16_gap_256.sw_in12k_ft_in1k", Recipe::vit, kSbb256},
    {"vit_medium_patch16_gap_384.sw_in12k_ft_in1k", Recipe::vit, {.input_size = 384, .crop_pct = 0.95, .squash = true}},
    {"vit_base_patch16_gap_224.untrained", Recipe::vit, {.untrained = true}},
    {"vit_base_patch16_224.mae", Recipe::vit, kMae},
    {"vit_large_patch16_224.mae", Recipe::vit, kMae},
    {"vit_medium_patch16_reg4_gap_256.sbb_in12k_ft_in1k", Recipe::vit, kSbb256},
    {"vit_medium_patch16_reg4_gap_256.sbb_in1k", Recipe::vit, kSbb256},
    {"vit_medium_patch16_reg4_gap_256.sbb_in12k", Recipe::vit, kSbb256In12k},
    {"vit_betwixt_patch16_reg4_gap_256.sbb2_e200_in12k_ft_in1k", Recipe::vit, kSbb256},
    {"vit_betwixt_patch16_reg4_gap_256.sbb_in12k_ft_in1k", Recipe::vit, kSbb256},
    {"vit_betwixt_patch16_reg4_gap_256.sbb_in1k", Recipe::vit, kSbb256},
    {"vit_betwixt_patch16_reg4_gap_256.sbb2_e200_in12k", Recipe::vit, kSbb256In12k},
    {"vit_betwixt_patch16_reg4_gap_256.sbb_in12k", Recipe::vit, kSbb256In12k},
    {"vit_base_patch16_reg4_gap_256.untrained", Recipe::vit, {.input_size = 256, .untrained = true}},
    // deit.py
    {"deit_tiny_patch16_224.fb_in1k", Recipe::deit, {}},
    {"deit_small_patch16_224.fb_in1k", Recipe::deit, {}},
    {"deit_base_patch16_224.fb_in1k", Recipe::deit, {}},
    {"deit_base_patch16_384.fb_in1k", Recipe::deit, k384},
    {"deit_tiny_distilled_patch16_224.fb_in1k", Recipe::deit, {}},
    {"deit_small_distilled_patch16_224.fb_in1k", Recipe::deit, {}},
    {"deit_base_distilled_patch16_224.fb_in1k", Recipe::deit, {}},
    {"deit_base_distilled_patch16_384.fb_in1k", Recipe::deit, k384},
    {"deit3_small_patch16_224.fb_in1k", Recipe::deit, {}},
    {"deit3_small_patch16_384.fb_in1k", Recipe::deit, k384},
    {"deit3_medium_patch16_224.fb_in1k", Recipe::deit, {}},
    {"deit3_base_patch16_224.fb_in1k", Recipe::deit, {}},
    {"deit3_base_patch16_384.fb_in1k", Recipe::deit, k384},
    {"deit3_large_patch16_224.fb_in1k", Recipe::deit, {}},
    {"deit3_large_patch16_384.fb_in1k", Recipe::deit, k384},
    {"deit3_huge_patch14_224.fb_in1k", Recipe::deit, {}},
    {"deit3_small_patch16_224.fb_in22k_ft_in1k", Recipe::deit, {.crop_pct = 1.0}},
    {"deit3_small_patch16_384.fb_in22k_ft_in1k", Recipe::deit, k384},
    {"deit3_medium_patch16_224.fb_in22k_ft_in1k", Recipe::deit, {.crop_pct = 1.0}},
    {"deit3_base_patch16_224.fb_in22k_ft_in1k", Recipe::deit, {.crop_pct = 1.0}},
    {"deit3_base_patch16_384.fb_in22k_ft_in1k", Recipe::deit, k384},
    {"deit3_large_patch16_224.fb_in22k_ft_in1k", Recipe::deit, {.crop_pct = 1.0}},
    {"deit3_large_patch16_384.fb_in22k_ft_in1k", Recipe::deit, k384},
    {"deit3_huge_patch14_224.fb_in22k_ft_in1k", Recipe::deit, {.crop_pct = 1.0}},
};

constexpr std::array<double, 3> kImageNetMean = {0.485, 0.456, 0.406};
constexpr std::array<double, 3> kImageNetStd = {0.229, 0.224, 0.225};
constexpr std::array<double, 3> kInceptionMeanStd = {0.5, 0.5, 0.5};

bool is_distilled(std::string_view arch) {
  return std::any_of(kVitVariants.begin(), kVitVariants.end(),
                     [&](const VitVariant& v) { return v.name == arch && v.distilled; });
}

PretrainedCfg make_cfg(const TagEntry& entry) {
  const auto [arch, tag] = split_arch_tag(entry.key);
  const auto& t = entry.tweaks;
  PretrainedCfg cfg;
  if (!t.untrained) {
    cfg.tag = tag;
    cfg.hf_hub_id = "timm/" + std::string(entry.key);
  }
  cfg.architecture = arch;
  cfg.input_size = {3, 224, 224};
  cfg.fixed_input_size = true;
  cfg.interpolation = "bicubic";
  cfg.crop_pct = 0.9;
  const bool imagenet = entry.recipe == Recipe::deit || t.imagenet_mean_std;
  cfg.mean = imagenet ? kImageNetMean : kInceptionMeanStd;
  cfg.std = imagenet ? kImageNetStd : kInceptionMeanStd;
  if (t.input_size) cfg.input_size = {3, t.input_size, t.input_size};
  if (t.crop_pct) cfg.crop_pct = *t.crop_pct;
  if (t.squash) cfg.crop_mode = "squash";
  if (t.num_classes) cfg.num_classes = *t.num_classes;
  cfg.first_conv = "patch_embed.proj";
  // deit.py's tuple ('head', 'head_dist'), comma-separated (see PretrainedCfg::classifier).
  cfg.classifier = is_distilled(arch) ? "head,head_dist" : "head";
  // timm's cfgs name a license only where it is not Apache-2.0 (MAE: CC-BY-NC-4.0); its Hub cards publish the
  // others, DeiT's included, under Apache-2.0.
  cfg.license = t.license == License::cc_by_nc ? "cc-by-nc-4.0" : "apache-2.0";
  return cfg;
}

bool is_untrained(const TagEntry& entry) { return entry.tweaks.untrained; }

}  // namespace

std::vector<PretrainedCfg> vit_pretrained_cfgs(std::string_view arch) {
  return tagged_cfgs(kTags, arch, make_cfg, is_untrained);
}

PretrainedCfg vit_default_cfg(std::string_view arch) {
  return default_tagged_cfg(kTags, arch, make_cfg, is_untrained, [&] {
    const bool deit = arch.starts_with("deit");
    return make_cfg(TagEntry{.key = arch, .recipe = deit ? Recipe::deit : Recipe::vit, .tweaks = {.untrained = true}});
  });
}

}  // namespace autotimm::vit
