// timm's default_cfgs for regnet.py as `arch.tag` → PretrainedCfg, in timm's order. The first tag listed for an
// architecture is its default (timm's generate_default_cfgs); "untrained" entries only give an architecture without
// weights its preprocessing defaults. Every weight is on the Hub as "timm/<arch>.<tag>".
#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "autotimm/pretrained_table.hpp"
#include "variants.hpp"

namespace autotimm::regnet {
namespace {

// timm's three cfg helpers: _cfg (timm's own training: 224 px, crop 0.95, test 288 at crop 1.0, no license listed),
// _cfgpyc (the pycls weights: crop 0.875, MIT) and _cfgtv2 (torchvision's: crop 0.965, BSD-3-Clause).
enum class Recipe { timm, pycls, tv2 };

// What an entry changes over its recipe; 0 / unset keeps the recipe's value.
struct Tweaks {
  std::int64_t input_size = 0;
  std::optional<double> crop_pct = {};
  std::int64_t test_input_size = 0;
  std::optional<std::int64_t> num_classes = {};
  std::string_view license = {};  // overrides the recipe's
  bool stem_first_conv = false;   // first_conv 'stem' (the pre-activation models' plain stem conv)
  bool untrained = false;         // no weights: the cfg only describes preprocessing
};

struct TagEntry {
  std::string_view key;  // arch.tag
  Recipe recipe;
  Tweaks tweaks;
};

constexpr Recipe T = Recipe::timm;
constexpr Recipe P = Recipe::pycls;
constexpr Recipe TV = Recipe::tv2;
constexpr std::string_view kNonCommercial = "cc-by-nc-4.0";  // SWAG
constexpr std::string_view kOther = "other";                 // SEER (VISSL)

constexpr TagEntry kTags[] = {
    // timm's own weights.
    {"regnety_032.ra_in1k", T, {}},
    {"regnety_040.ra3_in1k", T, {}},
    {"regnety_064.ra3_in1k", T, {}},
    {"regnety_080.ra3_in1k", T, {}},
    {"regnety_120.sw_in12k_ft_in1k", T, {}},
    {"regnety_160.sw_in12k_ft_in1k", T, {}},
    {"regnety_160.lion_in12k_ft_in1k", T, {}},
    // timm's ImageNet-12k pretraining.
    {"regnety_120.sw_in12k", T, {.num_classes = 11821}},
    {"regnety_160.sw_in12k", T, {.num_classes = 11821}},
    // timm's own architectures (V, and Z guesses).
    {"regnety_040_sgn.untrained", T, {.untrained = true}},
    {"regnetv_040.ra3_in1k", T, {.stem_first_conv = true}},
    {"regnetv_064.ra3_in1k", T, {.stem_first_conv = true}},
    {"regnetz_005.untrained", T, {.untrained = true}},
    {"regnetz_040.ra3_in1k", T, {.input_size = 256, .crop_pct = 1.0, .test_input_size = 320}},
    {"regnetz_040_h.ra3_in1k", T, {.input_size = 256, .crop_pct = 1.0, .test_input_size = 320}},
    // Facebook's DeiT teacher.
    {"regnety_160.deit_in1k", T, {}},
    // torchvision's weights (the "new recipe").
    {"regnetx_004_tv.tv2_in1k", TV, {}},
    {"regnetx_008.tv2_in1k", TV, {}},
    {"regnetx_016.tv2_in1k", TV, {}},
    {"regnetx_032.tv2_in1k", TV, {}},
    {"regnetx_080.tv2_in1k", TV, {}},
    {"regnetx_160.tv2_in1k", TV, {}},
    {"regnetx_320.tv2_in1k", TV, {}},
    {"regnety_004.tv2_in1k", TV, {}},
    {"regnety_008_tv.tv2_in1k", TV, {}},
    {"regnety_016.tv2_in1k", TV, {}},
    {"regnety_032.tv2_in1k", TV, {}},
    {"regnety_080_tv.tv2_in1k", TV, {}},
    {"regnety_160.tv2_in1k", TV, {}},
    {"regnety_320.tv2_in1k", TV, {}},
    // SWAG (torchvision): end-to-end fine-tunes at 384 px, and linear classifiers on frozen trunks.
    {"regnety_160.swag_ft_in1k", TV, {.input_size = 384, .crop_pct = 1.0, .license = kNonCommercial}},
    {"regnety_320.swag_ft_in1k", TV, {.input_size = 384, .crop_pct = 1.0, .license = kNonCommercial}},
    {"regnety_1280.swag_ft_in1k", TV, {.input_size = 384, .crop_pct = 1.0, .license = kNonCommercial}},
    {"regnety_160.swag_lc_in1k", TV, {.license = kNonCommercial}},
    {"regnety_320.swag_lc_in1k", TV, {.license = kNonCommercial}},
    {"regnety_1280.swag_lc_in1k", TV, {.license = kNonCommercial}},
    // SEER (VISSL): fine-tuned at 384 px, and the self-supervised trunks without a classifier.
    {"regnety_320.seer_ft_in1k", TV, {.input_size = 384, .crop_pct = 1.0, .license = kOther}},
    {"regnety_640.seer_ft_in1k", TV, {.input_size = 384, .crop_pct = 1.0, .license = kOther}},
    {"regnety_1280.seer_ft_in1k", TV, {.input_size = 384, .crop_pct = 1.0, .license = kOther}},
    {"regnety_2560.seer_ft_in1k", TV, {.input_size = 384, .crop_pct = 1.0, .license = kOther}},
    {"regnety_320.seer", TV, {.num_classes = 0, .license = kOther}},
    {"regnety_640.seer", TV, {.num_classes = 0, .license = kOther}},
    {"regnety_1280.seer", TV, {.num_classes = 0, .license = kOther}},
    // The original pycls weights.
    {"regnetx_002.pycls_in1k", P, {}},
    {"regnetx_004.pycls_in1k", P, {}},
    {"regnetx_006.pycls_in1k", P, {}},
    {"regnetx_008.pycls_in1k", P, {}},
    {"regnetx_016.pycls_in1k", P, {}},
    {"regnetx_032.pycls_in1k", P, {}},
    {"regnetx_040.pycls_in1k", P, {}},
    {"regnetx_064.pycls_in1k", P, {}},
    {"regnetx_080.pycls_in1k", P, {}},
    {"regnetx_120.pycls_in1k", P, {}},
    {"regnetx_160.pycls_in1k", P, {}},
    {"regnetx_320.pycls_in1k", P, {}},
    {"regnety_002.pycls_in1k", P, {}},
    {"regnety_004.pycls_in1k", P, {}},
    {"regnety_006.pycls_in1k", P, {}},
    {"regnety_008.pycls_in1k", P, {}},
    {"regnety_016.pycls_in1k", P, {}},
    {"regnety_032.pycls_in1k", P, {}},
    {"regnety_040.pycls_in1k", P, {}},
    {"regnety_064.pycls_in1k", P, {}},
    {"regnety_080.pycls_in1k", P, {}},
    {"regnety_120.pycls_in1k", P, {}},
    {"regnety_160.pycls_in1k", P, {}},
    {"regnety_320.pycls_in1k", P, {}},
};

PretrainedCfg make_cfg(const TagEntry& entry) {
  const auto [arch, tag] = split_arch_tag(entry.key);
  const Tweaks& t = entry.tweaks;
  PretrainedCfg cfg{.tag = t.untrained ? std::string() : tag};
  cfg.architecture = arch;
  if (!t.untrained) cfg.hf_hub_id = "timm/" + arch + "." + tag;
  // Shared by the three helpers: 224 px, bicubic, ImageNet mean/std, 1000 classes, stem.conv and head.fc.
  cfg.input_size = {3, 224, 224};
  cfg.interpolation = "bicubic";
  switch (entry.recipe) {
    case Recipe::timm:
      cfg.crop_pct = 0.95;
      cfg.test_input_size = std::array<std::int64_t, 3>{3, 288, 288};
      cfg.test_crop_pct = 1.0;
      break;
    case Recipe::pycls:
      cfg.crop_pct = 0.875;
      cfg.license = "mit";
      cfg.notes = "origin: https://github.com/facebookresearch/pycls";
      break;
    case Recipe::tv2:
      cfg.crop_pct = 0.965;
      cfg.license = "bsd-3-clause";
      cfg.notes = "origin: https://github.com/pytorch/vision";
      break;
  }
  if (t.input_size) cfg.input_size = {3, t.input_size, t.input_size};
  if (t.crop_pct) cfg.crop_pct = *t.crop_pct;
  if (t.test_input_size) cfg.test_input_size = std::array<std::int64_t, 3>{3, t.test_input_size, t.test_input_size};
  if (t.num_classes) cfg.num_classes = *t.num_classes;  // 0 for the SEER trunks: no classifier
  if (!t.license.empty()) cfg.license = std::string(t.license);
  if (t.license == kOther) cfg.notes = "origin: https://github.com/facebookresearch/vissl";
  cfg.first_conv = t.stem_first_conv ? "stem" : "stem.conv";
  cfg.classifier = "head.fc";
  return cfg;
}

bool is_untrained(const TagEntry& entry) { return entry.tweaks.untrained; }

}  // namespace

std::vector<PretrainedCfg> regnet_pretrained_cfgs(std::string_view arch) {
  return tagged_cfgs(kTags, arch, make_cfg, is_untrained);
}

PretrainedCfg regnet_default_cfg(std::string_view arch) {
  return default_tagged_cfg(kTags, arch, make_cfg, is_untrained, [&] {
    return make_cfg(TagEntry{.key = arch, .recipe = Recipe::timm, .tweaks = {.untrained = true}});
  });
}

}  // namespace autotimm::regnet
