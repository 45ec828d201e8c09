// timm's default_cfgs for efficientnet.py and mobilenetv3.py as `arch.tag` → PretrainedCfg, in timm's order,
// restricted to the architectures this plugin builds. The first tag with weights is an architecture's default
// (timm's generate_default_cfgs); "untrained" entries only give an architecture without weights its
// preprocessing defaults. Hub ids are timm's: "timm/<arch>.<tag>".
#include "pretrained.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "autotimm/pretrained_table.hpp"

namespace autotimm::efficientnet {
namespace {

// The two files' _cfg: efficientnet.py's is bicubic and states Apache-2.0 for every entry; mobilenetv3.py's is
// bilinear and states no license. Both: 224 px, crop 0.875, ImageNet mean/std, conv_stem and classifier.
enum class Recipe { effnet, mnv3 };

// ImageNet mean/std, timm's IMAGENET_INCEPTION (0.5 / 0.5), or 0 / 1 (the Alibaba MIIL ports).
enum class Normalisation { imagenet, inception, unit };

enum class Interpolation { recipe, bicubic, bilinear };

// What an entry changes over its recipe; 0 / unset keeps the recipe's value.
struct Tweaks {
  std::int64_t input_size = 0;
  std::optional<double> crop_pct = {};
  std::int64_t test_input_size = 0;
  std::optional<double> test_crop_pct = {};
  bool squash = false;  // crop_mode 'squash'
  std::optional<std::int64_t> num_classes = {};
  Normalisation normalisation = Normalisation::imagenet;
  Interpolation interpolation = Interpolation::recipe;
  std::string_view paper = {};
  bool untrained = false;  // no weights: the cfg only describes preprocessing
};

struct TagEntry {
  std::string_view key;  // arch.tag
  Recipe recipe;
  Tweaks tweaks;
};

constexpr Recipe E = Recipe::effnet;
constexpr Recipe M = Recipe::mnv3;
constexpr Normalisation kHalf = Normalisation::inception;
constexpr Normalisation kUnit = Normalisation::unit;
constexpr Interpolation kBicubic = Interpolation::bicubic;
constexpr Interpolation kBilinear = Interpolation::bilinear;
constexpr std::string_view kMiilPaper = "arXiv:2104.10972v4";

constexpr TagEntry kTags[] = {
    // efficientnet.py: MobileNet-V2.
    {"mobilenetv2_035.untrained", E, {.untrained = true}},
    {"mobilenetv2_050.lamb_in1k", E, {}},
    {"mobilenetv2_075.untrained", E, {.untrained = true}},
    {"mobilenetv2_100.ra_in1k", E, {}},
    {"mobilenetv2_110d.ra_in1k", E, {}},
    {"mobilenetv2_120d.ra_in1k", E, {}},
    {"mobilenetv2_140.ra_in1k", E, {}},
    // timm-trained EfficientNet B0-B5; B6-B8 and L2 have no timm weights.
    {"efficientnet_b0.ra_in1k", E, {}},
    {"efficientnet_b0.ra4_e3600_r224_in1k", E,
     {.crop_pct = 0.9, .test_input_size = 256, .test_crop_pct = 1.0, .normalisation = kHalf}},
    {"efficientnet_b1.ra4_e3600_r240_in1k", E,
     {.input_size = 240, .crop_pct = 0.9, .test_input_size = 288, .test_crop_pct = 1.0, .normalisation = kHalf}},
    {"efficientnet_b1.ft_in1k", E, {.test_input_size = 256, .test_crop_pct = 1.0}},
    {"efficientnet_b2.ra_in1k", E, {.input_size = 256, .test_input_size = 288, .test_crop_pct = 1.0}},
    {"efficientnet_b3.ra2_in1k", E, {.input_size = 288, .test_input_size = 320, .test_crop_pct = 1.0}},
    {"efficientnet_b4.ra2_in1k", E, {.input_size = 320, .test_input_size = 384, .test_crop_pct = 1.0}},
    {"efficientnet_b5.sw_in12k_ft_in1k", E, {.input_size = 448, .crop_pct = 1.0, .squash = true}},
    {"efficientnet_b5.sw_in12k", E, {.input_size = 416, .crop_pct = 0.95, .num_classes = 11821}},
    {"efficientnet_b6.untrained", E, {.input_size = 528, .crop_pct = 0.942, .untrained = true}},
    {"efficientnet_b7.untrained", E, {.input_size = 600, .crop_pct = 0.949, .untrained = true}},
    {"efficientnet_b8.untrained", E, {.input_size = 672, .crop_pct = 0.954, .untrained = true}},
    {"efficientnet_l2.untrained", E, {.input_size = 800, .crop_pct = 0.961, .untrained = true}},
    // EfficientNet-EdgeTPU, its pruned (sparse) variants, and Lite.
    {"efficientnet_es.ra_in1k", E, {}},
    {"efficientnet_em.ra2_in1k", E, {.input_size = 240, .crop_pct = 0.882}},
    {"efficientnet_el.ra_in1k", E, {.input_size = 300, .crop_pct = 0.904}},
    {"efficientnet_es_pruned.in1k", E, {}},
    {"efficientnet_el_pruned.in1k", E, {.input_size = 300, .crop_pct = 0.904}},
    {"efficientnet_lite0.ra_in1k", E, {}},
    {"efficientnet_lite1.untrained", E, {.input_size = 240, .crop_pct = 0.882, .untrained = true}},
    {"efficientnet_lite2.untrained", E, {.input_size = 260, .crop_pct = 0.890, .untrained = true}},
    {"efficientnet_lite3.untrained", E, {.input_size = 300, .crop_pct = 0.904, .untrained = true}},
    {"efficientnet_lite4.untrained", E, {.input_size = 380, .crop_pct = 0.922, .untrained = true}},
    // EfficientNet-V2: timm's own "rw" variants, and the PyTorch-padded official layouts without weights.
    {"efficientnetv2_rw_t.ra2_in1k", E, {.crop_pct = 1.0, .test_input_size = 288}},
    {"efficientnetv2_rw_s.ra2_in1k", E, {.input_size = 288, .crop_pct = 1.0, .test_input_size = 384}},
    {"efficientnetv2_rw_m.agc_in1k", E, {.input_size = 320, .crop_pct = 1.0, .test_input_size = 416}},
    {"efficientnetv2_s.untrained", E, {.input_size = 288, .crop_pct = 1.0, .test_input_size = 384, .untrained = true}},
    {"efficientnetv2_m.untrained", E, {.input_size = 320, .crop_pct = 1.0, .test_input_size = 416, .untrained = true}},
    {"efficientnetv2_l.untrained", E, {.input_size = 384, .crop_pct = 1.0, .test_input_size = 480, .untrained = true}},
    {"efficientnetv2_xl.untrained", E,
     {.input_size = 384, .crop_pct = 1.0, .test_input_size = 512, .untrained = true}},
    // TensorFlow ports: Noisy Student (JFT) …
    {"tf_efficientnet_b0.ns_jft_in1k", E, {}},
    {"tf_efficientnet_b1.ns_jft_in1k", E, {.input_size = 240, .crop_pct = 0.882}},
    {"tf_efficientnet_b2.ns_jft_in1k", E, {.input_size = 260, .crop_pct = 0.890}},
    {"tf_efficientnet_b3.ns_jft_in1k", E, {.input_size = 300, .crop_pct = 0.904}},
    {"tf_efficientnet_b4.ns_jft_in1k", E, {.input_size = 380, .crop_pct = 0.922}},
    {"tf_efficientnet_b5.ns_jft_in1k", E, {.input_size = 456, .crop_pct = 0.934}},
    {"tf_efficientnet_b6.ns_jft_in1k", E, {.input_size = 528, .crop_pct = 0.942}},
    {"tf_efficientnet_b7.ns_jft_in1k", E, {.input_size = 600, .crop_pct = 0.949}},
    {"tf_efficientnet_l2.ns_jft_in1k_475", E, {.input_size = 475, .crop_pct = 0.936}},
    {"tf_efficientnet_l2.ns_jft_in1k", E, {.input_size = 800, .crop_pct = 0.96}},
    // … AdvProp (trained on 0.5 / 0.5 normalised inputs) …
    {"tf_efficientnet_b0.ap_in1k", E, {.normalisation = kHalf}},
    {"tf_efficientnet_b1.ap_in1k", E, {.input_size = 240, .crop_pct = 0.882, .normalisation = kHalf}},
    {"tf_efficientnet_b2.ap_in1k", E, {.input_size = 260, .crop_pct = 0.890, .normalisation = kHalf}},
    {"tf_efficientnet_b3.ap_in1k", E, {.input_size = 300, .crop_pct = 0.904, .normalisation = kHalf}},
    {"tf_efficientnet_b4.ap_in1k", E, {.input_size = 380, .crop_pct = 0.922, .normalisation = kHalf}},
    {"tf_efficientnet_b5.ap_in1k", E, {.input_size = 456, .crop_pct = 0.934, .normalisation = kHalf}},
    {"tf_efficientnet_b6.ap_in1k", E, {.input_size = 528, .crop_pct = 0.942, .normalisation = kHalf}},
    {"tf_efficientnet_b7.ap_in1k", E, {.input_size = 600, .crop_pct = 0.949, .normalisation = kHalf}},
    {"tf_efficientnet_b8.ap_in1k", E, {.input_size = 672, .crop_pct = 0.954, .normalisation = kHalf}},
    // … RandAugment, AutoAugment, and the original ImageNet-1k weights.
    {"tf_efficientnet_b5.ra_in1k", E, {.input_size = 456, .crop_pct = 0.934}},
    {"tf_efficientnet_b7.ra_in1k", E, {.input_size = 600, .crop_pct = 0.949}},
    {"tf_efficientnet_b8.ra_in1k", E, {.input_size = 672, .crop_pct = 0.954}},
    {"tf_efficientnet_b0.aa_in1k", E, {}},
    {"tf_efficientnet_b1.aa_in1k", E, {.input_size = 240, .crop_pct = 0.882}},
    {"tf_efficientnet_b2.aa_in1k", E, {.input_size = 260, .crop_pct = 0.890}},
    {"tf_efficientnet_b3.aa_in1k", E, {.input_size = 300, .crop_pct = 0.904}},
    {"tf_efficientnet_b4.aa_in1k", E, {.input_size = 380, .crop_pct = 0.922}},
    {"tf_efficientnet_b5.aa_in1k", E, {.input_size = 456, .crop_pct = 0.934}},
    {"tf_efficientnet_b6.aa_in1k", E, {.input_size = 528, .crop_pct = 0.942}},
    {"tf_efficientnet_b7.aa_in1k", E, {.input_size = 600, .crop_pct = 0.949}},
    {"tf_efficientnet_b0.in1k", E, {}},
    {"tf_efficientnet_b1.in1k", E, {.input_size = 240, .crop_pct = 0.882}},
    {"tf_efficientnet_b2.in1k", E, {.input_size = 260, .crop_pct = 0.890}},
    {"tf_efficientnet_b3.in1k", E, {.input_size = 300, .crop_pct = 0.904}},
    {"tf_efficientnet_b4.in1k", E, {.input_size = 380, .crop_pct = 0.922}},
    {"tf_efficientnet_b5.in1k", E, {.input_size = 456, .crop_pct = 0.934}},
    {"tf_efficientnet_es.in1k", E, {.normalisation = kHalf}},
    {"tf_efficientnet_em.in1k", E, {.input_size = 240, .crop_pct = 0.882, .normalisation = kHalf}},
    {"tf_efficientnet_el.in1k", E, {.input_size = 300, .crop_pct = 0.904, .normalisation = kHalf}},
    // Lite ports: timm keeps bicubic up to lite2 (a closer match to TF's bilinear at low resolution).
    {"tf_efficientnet_lite0.in1k", E, {.normalisation = kHalf}},
    {"tf_efficientnet_lite1.in1k", E, {.input_size = 240, .crop_pct = 0.882, .normalisation = kHalf}},
    {"tf_efficientnet_lite2.in1k", E, {.input_size = 260, .crop_pct = 0.890, .normalisation = kHalf}},
    {"tf_efficientnet_lite3.in1k", E,
     {.input_size = 300, .crop_pct = 0.904, .normalisation = kHalf, .interpolation = kBilinear}},
    {"tf_efficientnet_lite4.in1k", E,
     {.input_size = 380, .crop_pct = 0.920, .normalisation = kHalf, .interpolation = kBilinear}},
    // EfficientNet-V2 ports: ImageNet-21k fine-tuned on 1k, 1k only, and the 21k classifiers.
    {"tf_efficientnetv2_s.in21k_ft_in1k", E,
     {.input_size = 300, .crop_pct = 1.0, .test_input_size = 384, .normalisation = kHalf}},
    {"tf_efficientnetv2_m.in21k_ft_in1k", E,
     {.input_size = 384, .crop_pct = 1.0, .test_input_size = 480, .squash = true, .normalisation = kHalf}},
    {"tf_efficientnetv2_l.in21k_ft_in1k", E,
     {.input_size = 384, .crop_pct = 1.0, .test_input_size = 480, .squash = true, .normalisation = kHalf}},
    {"tf_efficientnetv2_xl.in21k_ft_in1k", E,
     {.input_size = 384, .crop_pct = 1.0, .test_input_size = 512, .squash = true, .normalisation = kHalf}},
    {"tf_efficientnetv2_s.in1k", E,
     {.input_size = 300, .crop_pct = 1.0, .test_input_size = 384, .normalisation = kHalf}},
    {"tf_efficientnetv2_m.in1k", E,
     {.input_size = 384, .crop_pct = 1.0, .test_input_size = 480, .squash = true, .normalisation = kHalf}},
    {"tf_efficientnetv2_l.in1k", E,
     {.input_size = 384, .crop_pct = 1.0, .test_input_size = 480, .squash = true, .normalisation = kHalf}},
    {"tf_efficientnetv2_s.in21k", E,
     {.input_size = 300, .crop_pct = 1.0, .test_input_size = 384, .num_classes = 21843, .normalisation = kHalf}},
    {"tf_efficientnetv2_m.in21k", E,
     {.input_size = 384,
      .crop_pct = 1.0,
      .test_input_size = 480,
      .squash = true,
      .num_classes = 21843,
      .normalisation = kHalf}},
    {"tf_efficientnetv2_l.in21k", E,
     {.input_size = 384,
      .crop_pct = 1.0,
      .test_input_size = 480,
      .squash = true,
      .num_classes = 21843,
      .normalisation = kHalf}},
    {"tf_efficientnetv2_xl.in21k", E,
     {.input_size = 384,
      .crop_pct = 1.0,
      .test_input_size = 512,
      .squash = true,
      .num_classes = 21843,
      .normalisation = kHalf}},
    {"tf_efficientnetv2_b0.in1k", E, {.input_size = 192, .test_input_size = 224}},
    {"tf_efficientnetv2_b1.in1k", E, {.input_size = 192, .crop_pct = 0.882, .test_input_size = 240}},
    {"tf_efficientnetv2_b2.in1k", E, {.input_size = 208, .crop_pct = 0.890, .test_input_size = 260}},
    {"tf_efficientnetv2_b3.in21k_ft_in1k", E,
     {.input_size = 240, .crop_pct = 0.9, .test_input_size = 300, .squash = true, .normalisation = kHalf}},
    {"tf_efficientnetv2_b3.in1k", E, {.input_size = 240, .crop_pct = 0.904, .test_input_size = 300}},
    {"tf_efficientnetv2_b3.in21k", E,
     {.input_size = 240, .crop_pct = 0.904, .test_input_size = 300, .num_classes = 21843, .normalisation = kHalf}},
    // MixNet: timm-trained, and the TensorFlow ports.
    {"mixnet_s.ft_in1k", E, {}},
    {"mixnet_m.ft_in1k", E, {}},
    {"mixnet_l.ft_in1k", E, {}},
    {"mixnet_xl.ra_in1k", E, {}},
    {"mixnet_xxl.untrained", E, {.untrained = true}},
    {"tf_mixnet_s.in1k", E, {}},
    {"tf_mixnet_m.in1k", E, {}},
    {"tf_mixnet_l.in1k", E, {}},
    // mobilenetv3.py: timm-trained MobileNet-V3, the MIIL ImageNet-21k weights (0 / 1 normalisation, 11221
    // classes for the 21k head), and the TensorFlow ports.
    {"mobilenetv3_large_075.untrained", M, {.untrained = true}},
    {"mobilenetv3_large_100.ra_in1k", M, {.interpolation = kBicubic}},
    {"mobilenetv3_large_100.ra4_e3600_r224_in1k", M,
     {.crop_pct = 0.95,
      .test_input_size = 256,
      .test_crop_pct = 1.0,
      .normalisation = kHalf,
      .interpolation = kBicubic}},
    {"mobilenetv3_large_100.miil_in21k_ft_in1k", M, {.normalisation = kUnit, .paper = kMiilPaper}},
    {"mobilenetv3_large_100.miil_in21k", M, {.num_classes = 11221, .normalisation = kUnit, .paper = kMiilPaper}},
    {"mobilenetv3_large_150d.ra4_e3600_r256_in1k", M,
     {.input_size = 256, .crop_pct = 0.95, .test_input_size = 320, .test_crop_pct = 1.0, .normalisation = kHalf}},
    {"mobilenetv3_small_050.lamb_in1k", M, {.interpolation = kBicubic}},
    {"mobilenetv3_small_075.lamb_in1k", M, {.interpolation = kBicubic}},
    {"mobilenetv3_small_100.lamb_in1k", M, {.interpolation = kBicubic}},
    {"mobilenetv3_rw.rmsp_in1k", M, {.interpolation = kBicubic}},
    {"tf_mobilenetv3_large_075.in1k", M, {.normalisation = kHalf}},
    {"tf_mobilenetv3_large_100.in1k", M, {.normalisation = kHalf}},
    {"tf_mobilenetv3_large_minimal_100.in1k", M, {.normalisation = kHalf}},
    {"tf_mobilenetv3_small_075.in1k", M, {.normalisation = kHalf}},
    {"tf_mobilenetv3_small_100.in1k", M, {.normalisation = kHalf}},
    {"tf_mobilenetv3_small_minimal_100.in1k", M, {.normalisation = kHalf}},
};

PretrainedCfg make_cfg(const TagEntry& entry) {
  const auto [arch, tag] = split_arch_tag(entry.key);
  const Tweaks& t = entry.tweaks;
  PretrainedCfg cfg{.tag = t.untrained ? std::string() : tag};
  cfg.architecture = arch;
  if (!t.untrained) cfg.hf_hub_id = "timm/" + arch + "." + tag;
  cfg.input_size = {3, 224, 224};
  cfg.crop_pct = 0.875;
  cfg.interpolation = entry.recipe == Recipe::effnet ? "bicubic" : "bilinear";
  if (t.input_size) cfg.input_size = {3, t.input_size, t.input_size};
  if (t.crop_pct) cfg.crop_pct = *t.crop_pct;
  if (t.test_input_size) cfg.test_input_size = std::array<std::int64_t, 3>{3, t.test_input_size, t.test_input_size};
  if (t.test_crop_pct) cfg.test_crop_pct = *t.test_crop_pct;
  if (t.squash) cfg.crop_mode = "squash";
  switch (t.interpolation) {
    case Interpolation::recipe: break;
    case Interpolation::bicubic: cfg.interpolation = "bicubic"; break;
    case Interpolation::bilinear: cfg.interpolation = "bilinear"; break;
  }
  switch (t.normalisation) {
    case Normalisation::imagenet: break;
    case Normalisation::inception:
      cfg.mean = {0.5, 0.5, 0.5};
      cfg.std = {0.5, 0.5, 0.5};
      break;
    case Normalisation::unit:
      cfg.mean = {0.0, 0.0, 0.0};
      cfg.std = {1.0, 1.0, 1.0};
      break;
  }
  if (t.num_classes) cfg.num_classes = *t.num_classes;
  cfg.first_conv = "conv_stem";
  cfg.classifier = "classifier";
  // efficientnet.py's _cfg carries the license on every entry, untrained ones included.
  if (entry.recipe == Recipe::effnet) cfg.license = "apache-2.0";
  cfg.paper = std::string(t.paper);
  return cfg;
}

bool is_untrained(const TagEntry& entry) { return entry.tweaks.untrained; }

}  // namespace

std::vector<PretrainedCfg> efficientnet_pretrained_cfgs(std::string_view arch) {
  return tagged_cfgs(kTags, arch, make_cfg, is_untrained);
}

PretrainedCfg efficientnet_default_cfg(std::string_view arch) {
  return default_tagged_cfg(kTags, arch, make_cfg, is_untrained, [&] {
    // Not in timm's tables: the recipe of the file the architecture would live in.
    const Recipe recipe = arch.find("mobilenetv3") != std::string_view::npos ? Recipe::mnv3 : Recipe::effnet;
    return make_cfg(TagEntry{.key = arch, .recipe = recipe, .tweaks = {.untrained = true}});
  });
}

}  // namespace autotimm::efficientnet
