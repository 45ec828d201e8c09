// timm's default_cfgs for resnet.py as `arch.tag` → PretrainedCfg, in timm's order. The first tag with weights is
// an architecture's default (timm's generate_default_cfgs); "untrained" entries only give an architecture without
// weights its preprocessing defaults. Hub ids are timm's: "timm/<arch>.<tag>".
#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "autotimm/pretrained_table.hpp"
#include "variants.hpp"

namespace autotimm::resnet {
namespace {

// timm's cfg helpers in resnet.py: _cfg, _tcfg, _ttcfg, _rcfg, _r3cfg, _gcfg.
enum class Recipe { base, tcfg, ttcfg, rcfg, r3cfg, gcfg };

// Where the weights were trained, which decides their license.
enum class Origin { timm, torchvision, facebook };

// What an entry changes over its recipe; 0 / unset keeps the recipe's value.
struct Tweaks {
  std::int64_t input_size = 0;
  std::optional<double> crop_pct = {};
  std::int64_t test_input_size = 0;
  std::optional<double> test_crop_pct = {};
  bool bicubic = false;        // over _cfg's bilinear
  bool half_mean_std = false;  // mean = std = 0.5 instead of ImageNet's
  std::int64_t num_classes = 0;
  bool deep_stem = false;  // first_conv is conv1.0
  Origin origin = Origin::timm;
  bool untrained = false;  // no weights: the cfg only describes preprocessing
};

struct TagEntry {
  std::string_view key;  // arch.tag
  Recipe recipe;
  Tweaks tweaks;
};

constexpr TagEntry kTags[] = {
    {"resnet10t.c3_in1k", Recipe::ttcfg, {.input_size = 176, .test_input_size = 224, .test_crop_pct = 0.95,
     .deep_stem = true}},
    {"resnet14t.c3_in1k", Recipe::ttcfg, {.input_size = 176, .test_input_size = 224, .test_crop_pct = 0.95,
     .deep_stem = true}},
    {"resnet18.a1_in1k", Recipe::rcfg, {}},
    {"resnet18.a2_in1k", Recipe::rcfg, {}},
    {"resnet18.a3_in1k", Recipe::r3cfg, {}},
    {"resnet18d.ra2_in1k", Recipe::ttcfg, {.deep_stem = true}},
    {"resnet34.a1_in1k", Recipe::rcfg, {}},
    {"resnet34.a2_in1k", Recipe::rcfg, {}},
    {"resnet34.a3_in1k", Recipe::r3cfg, {.crop_pct = 0.95}},
    {"resnet34.bt_in1k", Recipe::ttcfg, {}},
    {"resnet34d.ra2_in1k", Recipe::ttcfg, {.deep_stem = true}},
    {"resnet26.bt_in1k", Recipe::ttcfg, {}},
    {"resnet26d.bt_in1k", Recipe::ttcfg, {.deep_stem = true}},
    {"resnet26t.ra2_in1k", Recipe::ttcfg, {.input_size = 256, .crop_pct = 0.94, .test_input_size = 320,
     .test_crop_pct = 1.0, .deep_stem = true}},
    {"resnet50.a1_in1k", Recipe::rcfg, {}},
    {"resnet50.a1h_in1k", Recipe::rcfg, {.input_size = 176, .crop_pct = 0.9, .test_input_size = 224,
     .test_crop_pct = 1.0}},
    {"resnet50.a2_in1k", Recipe::rcfg, {}},
    {"resnet50.a3_in1k", Recipe::r3cfg, {}},
    {"resnet50.b1k_in1k", Recipe::rcfg, {}},
    {"resnet50.b2k_in1k", Recipe::rcfg, {}},
    {"resnet50.c1_in1k", Recipe::rcfg, {}},
    {"resnet50.c2_in1k", Recipe::rcfg, {}},
    {"resnet50.d_in1k", Recipe::rcfg, {}},
    {"resnet50.ram_in1k", Recipe::ttcfg, {}},
    {"resnet50.am_in1k", Recipe::tcfg, {}},
    {"resnet50.ra_in1k", Recipe::ttcfg, {}},
    {"resnet50.bt_in1k", Recipe::ttcfg, {}},
    {"resnet50d.ra2_in1k", Recipe::ttcfg, {.deep_stem = true}},
    {"resnet50d.ra4_e3600_r224_in1k", Recipe::rcfg, {.crop_pct = 0.95, .test_input_size = 288, .test_crop_pct = 1.0,
     .half_mean_std = true, .deep_stem = true}},
    {"resnet50d.a1_in1k", Recipe::rcfg, {.deep_stem = true}},
    {"resnet50d.a2_in1k", Recipe::rcfg, {.deep_stem = true}},
    {"resnet50d.a3_in1k", Recipe::r3cfg, {.deep_stem = true}},
    {"resnet50t.untrained", Recipe::ttcfg, {.deep_stem = true, .untrained = true}},
    {"resnet101.a1h_in1k", Recipe::rcfg, {}},
    {"resnet101.a1_in1k", Recipe::rcfg, {}},
    {"resnet101.a2_in1k", Recipe::rcfg, {}},
    {"resnet101.a3_in1k", Recipe::r3cfg, {}},
    {"resnet101d.ra2_in1k", Recipe::ttcfg, {.input_size = 256, .crop_pct = 0.95, .test_input_size = 320,
     .test_crop_pct = 1.0, .deep_stem = true}},
    {"resnet152.a1h_in1k", Recipe::rcfg, {}},
    {"resnet152.a1_in1k", Recipe::rcfg, {}},
    {"resnet152.a2_in1k", Recipe::rcfg, {}},
    {"resnet152.a3_in1k", Recipe::r3cfg, {}},
    {"resnet152d.ra2_in1k", Recipe::ttcfg, {.input_size = 256, .crop_pct = 0.95, .test_input_size = 320,
     .test_crop_pct = 1.0, .deep_stem = true}},
    {"resnet200.untrained", Recipe::ttcfg, {.untrained = true}},
    {"resnet200d.ra2_in1k", Recipe::ttcfg, {.input_size = 256, .crop_pct = 0.95, .test_input_size = 320,
     .test_crop_pct = 1.0, .deep_stem = true}},
    {"wide_resnet50_2.racm_in1k", Recipe::ttcfg, {}},
    {"resnet18.tv_in1k", Recipe::base, {.origin = Origin::torchvision}},
    {"resnet34.tv_in1k", Recipe::base, {.origin = Origin::torchvision}},
    {"resnet50.tv_in1k", Recipe::base, {.origin = Origin::torchvision}},
    {"resnet50.tv2_in1k", Recipe::base, {.input_size = 176, .test_input_size = 224, .test_crop_pct = 0.965,
     .origin = Origin::torchvision}},
    {"resnet101.tv_in1k", Recipe::base, {.origin = Origin::torchvision}},
    {"resnet101.tv2_in1k", Recipe::base, {.input_size = 176, .test_input_size = 224, .test_crop_pct = 0.965,
     .origin = Origin::torchvision}},
    {"resnet152.tv_in1k", Recipe::base, {.origin = Origin::torchvision}},
    {"resnet152.tv2_in1k", Recipe::base, {.input_size = 176, .test_input_size = 224, .test_crop_pct = 0.965,
     .origin = Origin::torchvision}},
    {"wide_resnet50_2.tv_in1k", Recipe::base, {.origin = Origin::torchvision}},
    {"wide_resnet50_2.tv2_in1k", Recipe::base, {.input_size = 176, .test_input_size = 224, .test_crop_pct = 0.965,
     .origin = Origin::torchvision}},
    {"wide_resnet101_2.tv_in1k", Recipe::base, {.origin = Origin::torchvision}},
    {"wide_resnet101_2.tv2_in1k", Recipe::base, {.input_size = 176, .test_input_size = 224, .test_crop_pct = 0.965,
     .origin = Origin::torchvision}},
    {"resnet50_gn.a1h_in1k", Recipe::ttcfg, {.crop_pct = 0.94}},
    {"resnext50_32x4d.a1h_in1k", Recipe::rcfg, {}},
    {"resnext50_32x4d.a1_in1k", Recipe::rcfg, {}},
    {"resnext50_32x4d.a2_in1k", Recipe::rcfg, {}},
    {"resnext50_32x4d.a3_in1k", Recipe::r3cfg, {}},
    {"resnext50_32x4d.ra_in1k", Recipe::ttcfg, {}},
    {"resnext50d_32x4d.bt_in1k", Recipe::ttcfg, {.deep_stem = true}},
    {"resnext101_32x4d.untrained", Recipe::ttcfg, {.untrained = true}},
    {"resnext101_64x4d.c1_in1k", Recipe::rcfg, {}},
    {"resnext50_32x4d.tv_in1k", Recipe::base, {.origin = Origin::torchvision}},
    {"resnext101_32x8d.tv_in1k", Recipe::base, {.origin = Origin::torchvision}},
    {"resnext101_64x4d.tv_in1k", Recipe::base, {.origin = Origin::torchvision}},
    {"resnext50_32x4d.tv2_in1k", Recipe::base, {.input_size = 176, .test_input_size = 224, .test_crop_pct = 0.965,
     .origin = Origin::torchvision}},
    {"resnext101_32x8d.tv2_in1k", Recipe::base, {.input_size = 176, .test_input_size = 224, .test_crop_pct = 0.965,
     .origin = Origin::torchvision}},
    {"resnext101_32x8d.fb_wsl_ig1b_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnext101_32x16d.fb_wsl_ig1b_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnext101_32x32d.fb_wsl_ig1b_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnet18.fb_ssl_yfcc100m_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnet50.fb_ssl_yfcc100m_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnext50_32x4d.fb_ssl_yfcc100m_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnext101_32x4d.fb_ssl_yfcc100m_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnext101_32x8d.fb_ssl_yfcc100m_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnext101_32x16d.fb_ssl_yfcc100m_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnet18.fb_swsl_ig1b_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnet50.fb_swsl_ig1b_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnext50_32x4d.fb_swsl_ig1b_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnext101_32x4d.fb_swsl_ig1b_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnext101_32x8d.fb_swsl_ig1b_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"resnext101_32x16d.fb_swsl_ig1b_ft_in1k", Recipe::base, {.origin = Origin::facebook}},
    {"ecaresnet26t.ra2_in1k", Recipe::ttcfg, {.input_size = 256, .test_input_size = 320, .test_crop_pct = 0.95,
     .deep_stem = true}},
    {"ecaresnetlight.miil_in1k", Recipe::tcfg, {.test_input_size = 288, .test_crop_pct = 0.95}},
    {"ecaresnet50d.miil_in1k", Recipe::tcfg, {.test_input_size = 288, .test_crop_pct = 0.95, .deep_stem = true}},
    {"ecaresnet50t.ra2_in1k", Recipe::tcfg, {.input_size = 256, .test_input_size = 320, .test_crop_pct = 0.95,
     .deep_stem = true}},
    {"ecaresnet50t.a1_in1k", Recipe::rcfg, {.deep_stem = true}},
    {"ecaresnet50t.a2_in1k", Recipe::rcfg, {.deep_stem = true}},
    {"ecaresnet50t.a3_in1k", Recipe::r3cfg, {.deep_stem = true}},
    {"ecaresnet101d.miil_in1k", Recipe::tcfg, {.test_input_size = 288, .test_crop_pct = 0.95, .deep_stem = true}},
    {"ecaresnet200d.untrained", Recipe::ttcfg, {.input_size = 256, .crop_pct = 0.95, .deep_stem = true,
     .untrained = true}},
    {"ecaresnet269d.ra2_in1k", Recipe::ttcfg, {.input_size = 320, .crop_pct = 0.95, .test_input_size = 352,
     .test_crop_pct = 1.0, .deep_stem = true}},
    {"ecaresnext26t_32x4d.untrained", Recipe::tcfg, {.deep_stem = true, .untrained = true}},
    {"ecaresnext50t_32x4d.untrained", Recipe::tcfg, {.deep_stem = true, .untrained = true}},
    {"seresnet18.untrained", Recipe::ttcfg, {.untrained = true}},
    {"seresnet34.untrained", Recipe::ttcfg, {.untrained = true}},
    {"seresnet50.a1_in1k", Recipe::rcfg, {.crop_pct = 0.95}},
    {"seresnet50.a2_in1k", Recipe::rcfg, {.crop_pct = 0.95}},
    {"seresnet50.a3_in1k", Recipe::r3cfg, {.crop_pct = 0.95}},
    {"seresnet50.ra2_in1k", Recipe::ttcfg, {}},
    {"seresnet50t.untrained", Recipe::ttcfg, {.deep_stem = true, .untrained = true}},
    {"seresnet101.untrained", Recipe::ttcfg, {.untrained = true}},
    {"seresnet152.untrained", Recipe::ttcfg, {.untrained = true}},
    {"seresnet152d.ra2_in1k", Recipe::ttcfg, {.input_size = 256, .crop_pct = 0.95, .test_input_size = 320,
     .test_crop_pct = 1.0, .deep_stem = true}},
    {"seresnet200d.untrained", Recipe::ttcfg, {.input_size = 256, .deep_stem = true, .untrained = true}},
    {"seresnet269d.untrained", Recipe::ttcfg, {.input_size = 256, .deep_stem = true, .untrained = true}},
    {"seresnext26d_32x4d.bt_in1k", Recipe::ttcfg, {.deep_stem = true}},
    {"seresnext26t_32x4d.bt_in1k", Recipe::ttcfg, {.deep_stem = true}},
    {"seresnext50_32x4d.racm_in1k", Recipe::ttcfg, {}},
    {"seresnext101_32x4d.untrained", Recipe::ttcfg, {.untrained = true}},
    {"seresnext101_32x8d.ah_in1k", Recipe::rcfg, {}},
    {"seresnext101d_32x8d.ah_in1k", Recipe::rcfg, {.deep_stem = true}},
    {"resnetaa50d.sw_in12k_ft_in1k", Recipe::ttcfg, {.crop_pct = 0.95, .test_crop_pct = 1.0, .deep_stem = true}},
    {"resnetaa101d.sw_in12k_ft_in1k", Recipe::ttcfg, {.crop_pct = 0.95, .test_crop_pct = 1.0, .deep_stem = true}},
    {"seresnextaa101d_32x8d.sw_in12k_ft_in1k_288", Recipe::ttcfg, {.input_size = 288, .crop_pct = 0.95,
     .test_input_size = 320, .test_crop_pct = 1.0, .deep_stem = true}},
    {"seresnextaa101d_32x8d.sw_in12k_ft_in1k", Recipe::ttcfg, {.test_crop_pct = 1.0, .deep_stem = true}},
    {"seresnextaa201d_32x8d.sw_in12k_ft_in1k_384", Recipe::base, {.input_size = 384, .crop_pct = 1.0, .bicubic = true,
     .deep_stem = true}},
    {"seresnextaa201d_32x8d.sw_in12k", Recipe::base, {.input_size = 320, .crop_pct = 0.95, .test_input_size = 384,
     .test_crop_pct = 1.0, .bicubic = true, .num_classes = 11821, .deep_stem = true}},
    {"resnetaa50d.sw_in12k", Recipe::ttcfg, {.crop_pct = 0.95, .test_crop_pct = 1.0, .num_classes = 11821,
     .deep_stem = true}},
    {"resnetaa50d.d_in12k", Recipe::ttcfg, {.crop_pct = 0.95, .test_crop_pct = 1.0, .num_classes = 11821,
     .deep_stem = true}},
    {"resnetaa101d.sw_in12k", Recipe::ttcfg, {.crop_pct = 0.95, .test_crop_pct = 1.0, .num_classes = 11821,
     .deep_stem = true}},
    {"seresnextaa101d_32x8d.sw_in12k", Recipe::ttcfg, {.crop_pct = 0.95, .test_crop_pct = 1.0, .num_classes = 11821,
     .deep_stem = true}},
    {"resnetblur18.untrained", Recipe::ttcfg, {.untrained = true}},
    {"resnetblur50.bt_in1k", Recipe::ttcfg, {}},
    {"resnetblur50d.untrained", Recipe::ttcfg, {.deep_stem = true, .untrained = true}},
    {"resnetblur101d.untrained", Recipe::ttcfg, {.deep_stem = true, .untrained = true}},
    {"resnetaa34d.untrained", Recipe::ttcfg, {.deep_stem = true, .untrained = true}},
    {"resnetaa50.a1h_in1k", Recipe::rcfg, {}},
    {"seresnetaa50d.untrained", Recipe::ttcfg, {.deep_stem = true, .untrained = true}},
    {"seresnextaa101d_32x8d.ah_in1k", Recipe::rcfg, {.deep_stem = true}},
    {"resnetrs50.tf_in1k", Recipe::base, {.input_size = 160, .crop_pct = 0.91, .test_input_size = 224, .bicubic = true,
     .deep_stem = true}},
    {"resnetrs101.tf_in1k", Recipe::base, {.input_size = 192, .crop_pct = 0.94, .test_input_size = 288,
     .bicubic = true, .deep_stem = true}},
    {"resnetrs152.tf_in1k", Recipe::base, {.input_size = 256, .crop_pct = 1.0, .test_input_size = 320, .bicubic = true,
     .deep_stem = true}},
    {"resnetrs200.tf_in1k", Recipe::base, {.input_size = 256, .crop_pct = 1.0, .test_input_size = 320, .bicubic = true,
     .deep_stem = true}},
    {"resnetrs270.tf_in1k", Recipe::base, {.input_size = 256, .crop_pct = 1.0, .test_input_size = 352, .bicubic = true,
     .deep_stem = true}},
    {"resnetrs350.tf_in1k", Recipe::base, {.input_size = 288, .crop_pct = 1.0, .test_input_size = 384, .bicubic = true,
     .deep_stem = true}},
    {"resnetrs420.tf_in1k", Recipe::base, {.input_size = 320, .crop_pct = 1.0, .test_input_size = 416, .bicubic = true,
     .deep_stem = true}},
    {"resnet18.gluon_in1k", Recipe::gcfg, {}},
    {"resnet34.gluon_in1k", Recipe::gcfg, {}},
    {"resnet50.gluon_in1k", Recipe::gcfg, {}},
    {"resnet101.gluon_in1k", Recipe::gcfg, {}},
    {"resnet152.gluon_in1k", Recipe::gcfg, {}},
    {"resnet50c.gluon_in1k", Recipe::gcfg, {.deep_stem = true}},
    {"resnet101c.gluon_in1k", Recipe::gcfg, {.deep_stem = true}},
    {"resnet152c.gluon_in1k", Recipe::gcfg, {.deep_stem = true}},
    {"resnet50d.gluon_in1k", Recipe::gcfg, {.deep_stem = true}},
    {"resnet101d.gluon_in1k", Recipe::gcfg, {.deep_stem = true}},
    {"resnet152d.gluon_in1k", Recipe::gcfg, {.deep_stem = true}},
    {"resnet50s.gluon_in1k", Recipe::gcfg, {.deep_stem = true}},
    {"resnet101s.gluon_in1k", Recipe::gcfg, {.deep_stem = true}},
    {"resnet152s.gluon_in1k", Recipe::gcfg, {.deep_stem = true}},
    {"resnext50_32x4d.gluon_in1k", Recipe::gcfg, {}},
    {"resnext101_32x4d.gluon_in1k", Recipe::gcfg, {}},
    {"resnext101_64x4d.gluon_in1k", Recipe::gcfg, {}},
    {"seresnext50_32x4d.gluon_in1k", Recipe::gcfg, {}},
    {"seresnext101_32x4d.gluon_in1k", Recipe::gcfg, {}},
    {"seresnext101_64x4d.gluon_in1k", Recipe::gcfg, {}},
    {"senet154.gluon_in1k", Recipe::gcfg, {.deep_stem = true}},
};

constexpr std::string_view kRsbPaper = "arXiv:2110.00476";  // "ResNet strikes back", timm's _rcfg/_r3cfg

PretrainedCfg make_cfg(const TagEntry& entry) {
  const auto [arch, tag] = split_arch_tag(entry.key);
  PretrainedCfg cfg{.tag = entry.tweaks.untrained ? std::string() : tag};
  cfg.architecture = arch;
  if (!entry.tweaks.untrained) cfg.hf_hub_id = "timm/" + arch + "." + tag;
  // _cfg: 224 px, bilinear, crop 0.875, ImageNet mean/std, 1000 classes.
  cfg.input_size = {3, 224, 224};
  cfg.interpolation = "bilinear";
  cfg.crop_pct = 0.875;
  switch (entry.recipe) {
    case Recipe::base: break;
    case Recipe::tcfg:
    case Recipe::gcfg: cfg.interpolation = "bicubic"; break;
    case Recipe::ttcfg:
      cfg.interpolation = "bicubic";
      cfg.test_input_size = std::array<std::int64_t, 3>{3, 288, 288};
      cfg.test_crop_pct = 0.95;
      break;
    case Recipe::rcfg:
      cfg.interpolation = "bicubic";
      cfg.crop_pct = 0.95;
      cfg.test_input_size = std::array<std::int64_t, 3>{3, 288, 288};
      cfg.test_crop_pct = 1.0;
      cfg.paper = kRsbPaper;
      break;
    case Recipe::r3cfg:
      cfg.interpolation = "bicubic";
      cfg.input_size = {3, 160, 160};
      cfg.crop_pct = 0.95;
      cfg.test_input_size = std::array<std::int64_t, 3>{3, 224, 224};
      cfg.test_crop_pct = 0.95;
      cfg.paper = kRsbPaper;
      break;
  }
  const Tweaks& t = entry.tweaks;
  if (t.input_size) cfg.input_size = {3, t.input_size, t.input_size};
  if (t.crop_pct) cfg.crop_pct = *t.crop_pct;
  if (t.test_input_size) cfg.test_input_size = std::array<std::int64_t, 3>{3, t.test_input_size, t.test_input_size};
  if (t.test_crop_pct) cfg.test_crop_pct = *t.test_crop_pct;
  if (t.bicubic) cfg.interpolation = "bicubic";
  if (t.half_mean_std) {
    cfg.mean = {0.5, 0.5, 0.5};
    cfg.std = {0.5, 0.5, 0.5};
  }
  if (t.num_classes) cfg.num_classes = t.num_classes;
  cfg.first_conv = t.deep_stem ? "conv1.0" : "conv1";
  cfg.classifier = "fc";
  // timm's cfgs name a license only for non-commercial and torchvision weights; its Hub cards publish the rest
  // under Apache-2.0.
  switch (t.origin) {
    case Origin::timm: cfg.license = "apache-2.0"; break;
    case Origin::torchvision: cfg.license = "bsd-3-clause"; break;
    case Origin::facebook: cfg.license = "cc-by-nc-4.0"; break;
  }
  return cfg;
}

bool is_untrained(const TagEntry& entry) { return entry.tweaks.untrained; }

}  // namespace

std::vector<PretrainedCfg> resnet_pretrained_cfgs(std::string_view arch) {
  return tagged_cfgs(kTags, arch, make_cfg, is_untrained);
}

PretrainedCfg resnet_default_cfg(std::string_view arch) {
  return default_tagged_cfg(kTags, arch, make_cfg, is_untrained, [&] {
    // Not in timm's table: its base cfg.
    return make_cfg(TagEntry{.key = arch, .recipe = Recipe::base, .tweaks = {.untrained = true}});
  });
}

}  // namespace autotimm::resnet
