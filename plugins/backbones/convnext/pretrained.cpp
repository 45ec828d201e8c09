// timm's default_cfgs for convnext.py as `arch.tag` → PretrainedCfg, in timm's order. The first tag with weights is
// an architecture's default (timm's generate_default_cfgs); "untrained" entries only give an architecture without
// weights its preprocessing defaults. Hub ids are timm's: "timm/<arch>.<tag>".
#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "autotimm/pretrained_table.hpp"
#include "variants.hpp"

namespace autotimm::convnext {
namespace {

// timm's _cfg (ConvNeXt, timm and FB weights) and _cfgv2 (ConvNeXt-V2: CC-BY-NC-4.0 weights, the V2 paper).
enum class Recipe { v1, v2 };

enum class Normalisation { imagenet, clip, half };  // ImageNet mean/std, OpenAI CLIP's, or 0.5 / 0.5

// What an entry changes over its recipe; 0 / unset keeps the recipe's value.
struct Tweaks {
  std::int64_t input_size = 0;
  std::optional<double> crop_pct = {};
  std::int64_t test_input_size = 0;
  std::optional<double> test_crop_pct = {};
  bool squash = false;  // crop_mode 'squash'
  std::optional<std::int64_t> num_classes = {};
  Normalisation normalisation = Normalisation::imagenet;
  bool untrained = false;  // no weights: the cfg only describes preprocessing
};

struct TagEntry {
  std::string_view key;  // arch.tag
  Recipe recipe;
  Tweaks tweaks;
};

constexpr Recipe V1 = Recipe::v1;
constexpr Recipe V2 = Recipe::v2;
constexpr Normalisation kClip = Normalisation::clip;
constexpr Normalisation kHalf = Normalisation::half;

constexpr TagEntry kTags[] = {
    // timm's own weights.
    {"convnext_tiny.in12k_ft_in1k", V1, {.crop_pct = 0.95, .test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_small.in12k_ft_in1k", V1, {.crop_pct = 0.95, .test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_atto.d2_in1k", V1, {.test_input_size = 288, .test_crop_pct = 0.95}},
    {"convnext_atto_ols.a2_in1k", V1, {.test_input_size = 288, .test_crop_pct = 0.95}},
    {"convnext_femto.d1_in1k", V1, {.test_input_size = 288, .test_crop_pct = 0.95}},
    {"convnext_femto_ols.d1_in1k", V1, {.test_input_size = 288, .test_crop_pct = 0.95}},
    {"convnext_pico.d1_in1k", V1, {.test_input_size = 288, .test_crop_pct = 0.95}},
    {"convnext_pico_ols.d1_in1k", V1, {.crop_pct = 0.95, .test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_nano.in12k_ft_in1k", V1, {.crop_pct = 0.95, .test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_nano.d1h_in1k", V1, {.crop_pct = 0.95, .test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_nano_ols.d1h_in1k", V1, {.crop_pct = 0.95, .test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_tiny_hnf.a2h_in1k", V1, {.crop_pct = 0.95, .test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_nano.r384_in12k_ft_in1k", V1, {.input_size = 384, .crop_pct = 1.0}},
    {"convnext_tiny.in12k_ft_in1k_384", V1, {.input_size = 384, .crop_pct = 1.0, .squash = true}},
    {"convnext_small.in12k_ft_in1k_384", V1, {.input_size = 384, .crop_pct = 1.0, .squash = true}},
    {"convnext_nano.in12k", V1, {.crop_pct = 0.95, .num_classes = 11821}},
    {"convnext_nano.r384_in12k", V1, {.input_size = 384, .crop_pct = 1.0, .num_classes = 11821}},
    {"convnext_nano.r384_ad_in12k", V1, {.input_size = 384, .crop_pct = 1.0, .num_classes = 11821}},
    {"convnext_tiny.in12k", V1, {.crop_pct = 0.95, .num_classes = 11821}},
    {"convnext_small.in12k", V1, {.crop_pct = 0.95, .num_classes = 11821}},
    // Facebook's ConvNeXt weights: ImageNet-22k fine-tuned on 1k, ImageNet-1k, and 22k.
    {"convnext_tiny.fb_in22k_ft_in1k", V1, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_small.fb_in22k_ft_in1k", V1, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_base.fb_in22k_ft_in1k", V1, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_large.fb_in22k_ft_in1k", V1, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_xlarge.fb_in22k_ft_in1k", V1, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_tiny.fb_in1k", V1, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_small.fb_in1k", V1, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_base.fb_in1k", V1, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_large.fb_in1k", V1, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnext_tiny.fb_in22k_ft_in1k_384", V1, {.input_size = 384, .crop_pct = 1.0, .squash = true}},
    {"convnext_small.fb_in22k_ft_in1k_384", V1, {.input_size = 384, .crop_pct = 1.0, .squash = true}},
    {"convnext_base.fb_in22k_ft_in1k_384", V1, {.input_size = 384, .crop_pct = 1.0, .squash = true}},
    {"convnext_large.fb_in22k_ft_in1k_384", V1, {.input_size = 384, .crop_pct = 1.0, .squash = true}},
    {"convnext_xlarge.fb_in22k_ft_in1k_384", V1, {.input_size = 384, .crop_pct = 1.0, .squash = true}},
    {"convnext_tiny.fb_in22k", V1, {.num_classes = 21841}},
    {"convnext_small.fb_in22k", V1, {.num_classes = 21841}},
    {"convnext_base.fb_in22k", V1, {.num_classes = 21841}},
    {"convnext_large.fb_in22k", V1, {.num_classes = 21841}},
    {"convnext_xlarge.fb_in22k", V1, {.num_classes = 21841}},
    // ConvNeXt-V2: FCMAE pre-training, fine-tuned on 22k then 1k, or on 1k; and the pre-trained encoders alone.
    {"convnextv2_nano.fcmae_ft_in22k_in1k", V2, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnextv2_nano.fcmae_ft_in22k_in1k_384", V2, {.input_size = 384, .crop_pct = 1.0, .squash = true}},
    {"convnextv2_tiny.fcmae_ft_in22k_in1k", V2, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnextv2_tiny.fcmae_ft_in22k_in1k_384", V2, {.input_size = 384, .crop_pct = 1.0, .squash = true}},
    {"convnextv2_base.fcmae_ft_in22k_in1k", V2, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnextv2_base.fcmae_ft_in22k_in1k_384", V2, {.input_size = 384, .crop_pct = 1.0, .squash = true}},
    {"convnextv2_large.fcmae_ft_in22k_in1k", V2, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnextv2_large.fcmae_ft_in22k_in1k_384", V2, {.input_size = 384, .crop_pct = 1.0, .squash = true}},
    {"convnextv2_huge.fcmae_ft_in22k_in1k_384", V2, {.input_size = 384, .crop_pct = 1.0, .squash = true}},
    {"convnextv2_huge.fcmae_ft_in22k_in1k_512", V2, {.input_size = 512, .crop_pct = 1.0, .squash = true}},
    {"convnextv2_atto.fcmae_ft_in1k", V2, {.test_input_size = 288, .test_crop_pct = 0.95}},
    {"convnextv2_femto.fcmae_ft_in1k", V2, {.test_input_size = 288, .test_crop_pct = 0.95}},
    {"convnextv2_pico.fcmae_ft_in1k", V2, {.test_input_size = 288, .test_crop_pct = 0.95}},
    {"convnextv2_nano.fcmae_ft_in1k", V2, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnextv2_tiny.fcmae_ft_in1k", V2, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnextv2_base.fcmae_ft_in1k", V2, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnextv2_large.fcmae_ft_in1k", V2, {.test_input_size = 288, .test_crop_pct = 1.0}},
    {"convnextv2_huge.fcmae_ft_in1k", V2, {.test_input_size = 288, .test_crop_pct = 1.0}},
    // FCMAE encoders: no classifier and no head.norm in the file (load with num_classes=0, strict=false).
    {"convnextv2_atto.fcmae", V2, {.num_classes = 0}},
    {"convnextv2_femto.fcmae", V2, {.num_classes = 0}},
    {"convnextv2_pico.fcmae", V2, {.num_classes = 0}},
    {"convnextv2_nano.fcmae", V2, {.num_classes = 0}},
    {"convnextv2_tiny.fcmae", V2, {.num_classes = 0}},
    {"convnextv2_base.fcmae", V2, {.num_classes = 0}},
    {"convnextv2_large.fcmae", V2, {.num_classes = 0}},
    {"convnextv2_huge.fcmae", V2, {.num_classes = 0}},
    {"convnextv2_small.untrained", V1, {.untrained = true}},
    // CLIP image towers (LAION), fine-tuned on 1k or 12k + 1k, and as published (their head.fc is the projection).
    {"convnext_base.clip_laion2b_augreg_ft_in12k_in1k", V1,
     {.input_size = 256, .crop_pct = 1.0, .normalisation = kClip}},
    {"convnext_base.clip_laion2b_augreg_ft_in12k_in1k_384", V1,
     {.input_size = 384, .crop_pct = 1.0, .squash = true, .normalisation = kClip}},
    {"convnext_large_mlp.clip_laion2b_soup_ft_in12k_in1k_320", V1,
     {.input_size = 320, .crop_pct = 1.0, .normalisation = kClip}},
    {"convnext_large_mlp.clip_laion2b_soup_ft_in12k_in1k_384", V1,
     {.input_size = 384, .crop_pct = 1.0, .squash = true, .normalisation = kClip}},
    {"convnext_base.clip_laion2b_augreg_ft_in1k", V1, {.input_size = 256, .crop_pct = 1.0, .normalisation = kClip}},
    {"convnext_base.clip_laiona_augreg_ft_in1k_384", V1,
     {.input_size = 384, .crop_pct = 1.0, .normalisation = kClip}},
    {"convnext_large_mlp.clip_laion2b_augreg_ft_in1k", V1,
     {.input_size = 256, .crop_pct = 1.0, .normalisation = kClip}},
    {"convnext_large_mlp.clip_laion2b_augreg_ft_in1k_384", V1,
     {.input_size = 384, .crop_pct = 1.0, .squash = true, .normalisation = kClip}},
    {"convnext_xxlarge.clip_laion2b_soup_ft_in1k", V1, {.input_size = 256, .crop_pct = 1.0, .normalisation = kClip}},
    {"convnext_base.clip_laion2b_augreg_ft_in12k", V1,
     {.input_size = 256, .crop_pct = 1.0, .num_classes = 11821, .normalisation = kClip}},
    {"convnext_large_mlp.clip_laion2b_soup_ft_in12k_320", V1,
     {.input_size = 320, .crop_pct = 1.0, .num_classes = 11821, .normalisation = kClip}},
    {"convnext_large_mlp.clip_laion2b_augreg_ft_in12k_384", V1,
     {.input_size = 384, .crop_pct = 1.0, .squash = true, .num_classes = 11821, .normalisation = kClip}},
    {"convnext_large_mlp.clip_laion2b_soup_ft_in12k_384", V1,
     {.input_size = 384, .crop_pct = 1.0, .squash = true, .num_classes = 11821, .normalisation = kClip}},
    {"convnext_xxlarge.clip_laion2b_soup_ft_in12k", V1,
     {.input_size = 256, .crop_pct = 1.0, .num_classes = 11821, .normalisation = kClip}},
    {"convnext_base.clip_laion2b", V1,
     {.input_size = 256, .crop_pct = 1.0, .num_classes = 640, .normalisation = kClip}},
    {"convnext_base.clip_laion2b_augreg", V1,
     {.input_size = 256, .crop_pct = 1.0, .num_classes = 640, .normalisation = kClip}},
    {"convnext_base.clip_laiona", V1, {.input_size = 256, .crop_pct = 1.0, .num_classes = 640, .normalisation = kClip}},
    {"convnext_base.clip_laiona_320", V1,
     {.input_size = 320, .crop_pct = 1.0, .num_classes = 640, .normalisation = kClip}},
    {"convnext_base.clip_laiona_augreg_320", V1,
     {.input_size = 320, .crop_pct = 1.0, .num_classes = 640, .normalisation = kClip}},
    {"convnext_large_mlp.clip_laion2b_augreg", V1,
     {.input_size = 256, .crop_pct = 1.0, .num_classes = 768, .normalisation = kClip}},
    {"convnext_large_mlp.clip_laion2b_ft_320", V1,
     {.input_size = 320, .crop_pct = 1.0, .num_classes = 768, .normalisation = kClip}},
    {"convnext_large_mlp.clip_laion2b_ft_soup_320", V1,
     {.input_size = 320, .crop_pct = 1.0, .num_classes = 768, .normalisation = kClip}},
    {"convnext_xxlarge.clip_laion2b_soup", V1,
     {.input_size = 256, .crop_pct = 1.0, .num_classes = 1024, .normalisation = kClip}},
    {"convnext_xxlarge.clip_laion2b_rewind", V1,
     {.input_size = 256, .crop_pct = 1.0, .num_classes = 1024, .normalisation = kClip}},
    // timm's test models.
    {"test_convnext.r160_in1k", V1, {.input_size = 160, .crop_pct = 0.95, .normalisation = kHalf}},
    {"test_convnext2.r160_in1k", V1, {.input_size = 160, .crop_pct = 0.95, .normalisation = kHalf}},
    {"test_convnext3.r160_in1k", V1, {.input_size = 160, .crop_pct = 0.95, .normalisation = kHalf}},
};

constexpr std::string_view kV2Paper = "arXiv:2301.00808";

PretrainedCfg make_cfg(const TagEntry& entry) {
  const auto [arch, tag] = split_arch_tag(entry.key);
  const Tweaks& t = entry.tweaks;
  PretrainedCfg cfg{.tag = t.untrained ? std::string() : tag};
  cfg.architecture = arch;
  if (!t.untrained) cfg.hf_hub_id = "timm/" + arch + "." + tag;
  // _cfg / _cfgv2: 224 px, bicubic, crop 0.875, ImageNet mean/std, 1000 classes, stem.0 and head.fc.
  cfg.input_size = {3, 224, 224};
  cfg.interpolation = "bicubic";
  cfg.crop_pct = 0.875;
  if (t.input_size) cfg.input_size = {3, t.input_size, t.input_size};
  if (t.crop_pct) cfg.crop_pct = *t.crop_pct;
  if (t.test_input_size) cfg.test_input_size = std::array<std::int64_t, 3>{3, t.test_input_size, t.test_input_size};
  if (t.test_crop_pct) cfg.test_crop_pct = *t.test_crop_pct;
  if (t.squash) cfg.crop_mode = "squash";
  switch (t.normalisation) {
    case Normalisation::imagenet: break;
    case Normalisation::clip:
      cfg.mean = {0.48145466, 0.4578275, 0.40821073};
      cfg.std = {0.26862954, 0.26130258, 0.27577711};
      break;
    case Normalisation::half:
      cfg.mean = {0.5, 0.5, 0.5};
      cfg.std = {0.5, 0.5, 0.5};
      break;
  }
  if (t.num_classes) cfg.num_classes = *t.num_classes;  // 0 for the FCMAE encoders: no classifier
  cfg.first_conv = "stem.0";
  cfg.classifier = "head.fc";
  if (entry.recipe == Recipe::v2) {
    cfg.license = "cc-by-nc-4.0";
    cfg.paper = kV2Paper;
  } else if (!t.untrained) {
    cfg.license = "apache-2.0";  // timm's Hub cards for its and Facebook's ConvNeXt weights
  }
  return cfg;
}

bool is_untrained(const TagEntry& entry) { return entry.tweaks.untrained; }

}  // namespace

std::vector<PretrainedCfg> convnext_pretrained_cfgs(std::string_view arch) {
  return tagged_cfgs(kTags, arch, make_cfg, is_untrained);
}

PretrainedCfg convnext_default_cfg(std::string_view arch) {
  return default_tagged_cfg(kTags, arch, make_cfg, is_untrained, [&] {
    return make_cfg(TagEntry{.key = arch, .recipe = Recipe::v1, .tweaks = {.untrained = true}});
  });
}

}  // namespace autotimm::convnext
