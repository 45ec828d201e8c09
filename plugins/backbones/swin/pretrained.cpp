// timm's default_cfgs for swin_transformer.py as `arch.tag` → PretrainedCfg, in timm's order: the first tag of an
// architecture is its default (timm's generate_default_cfgs). Every entry is timm's _cfg (224 px, bicubic, crop 0.9,
// fixed input size, ImageNet mean/std, 1000 classes, first conv patch_embed.proj, classifier head.fc, MIT license)
// with the changes listed. Hub ids are timm's: "timm/<arch>.<tag>".
#include <string>

#include "autotimm/pretrained_table.hpp"
#include "variants.hpp"

namespace autotimm::swin {
namespace {

struct TagEntry {
  std::string_view key;          // arch.tag
  std::int64_t input_size = 224;  // the 384 entries: crop 1.0 as well
  std::int64_t num_classes = 1000;
};

constexpr std::int64_t kIn22k = 21841;

constexpr TagEntry kTags[] = {
    {"swin_small_patch4_window7_224.ms_in22k_ft_in1k"},
    {"swin_base_patch4_window7_224.ms_in22k_ft_in1k"},
    {"swin_base_patch4_window12_384.ms_in22k_ft_in1k", 384},
    {"swin_large_patch4_window7_224.ms_in22k_ft_in1k"},
    {"swin_large_patch4_window12_384.ms_in22k_ft_in1k", 384},
    {"swin_tiny_patch4_window7_224.ms_in1k"},
    {"swin_small_patch4_window7_224.ms_in1k"},
    {"swin_base_patch4_window7_224.ms_in1k"},
    {"swin_base_patch4_window12_384.ms_in1k", 384},
    // timm lists tiny's 22k fine-tune after its 1k weights ("worse than 1k"), so ms_in1k stays tiny's default.
    {"swin_tiny_patch4_window7_224.ms_in22k_ft_in1k"},
    {"swin_tiny_patch4_window7_224.ms_in22k", 224, kIn22k},
    {"swin_small_patch4_window7_224.ms_in22k", 224, kIn22k},
    {"swin_base_patch4_window7_224.ms_in22k", 224, kIn22k},
    {"swin_base_patch4_window12_384.ms_in22k", 384, kIn22k},
    {"swin_large_patch4_window7_224.ms_in22k", 224, kIn22k},
    {"swin_large_patch4_window12_384.ms_in22k", 384, kIn22k},
    {"swin_s3_tiny_224.ms_in1k"},
    {"swin_s3_small_224.ms_in1k"},
    {"swin_s3_base_224.ms_in1k"},
};

PretrainedCfg make_cfg(const TagEntry& entry) {
  const auto [arch, tag] = split_arch_tag(entry.key);
  PretrainedCfg cfg{.tag = tag};
  cfg.architecture = arch;
  cfg.hf_hub_id = "timm/" + arch + "." + tag;
  cfg.input_size = {3, entry.input_size, entry.input_size};
  cfg.fixed_input_size = true;
  cfg.interpolation = "bicubic";
  cfg.crop_pct = entry.input_size == 384 ? 1.0 : 0.9;
  cfg.num_classes = entry.num_classes;
  cfg.first_conv = "patch_embed.proj";
  cfg.classifier = "head.fc";
  cfg.license = "mit";
  cfg.paper = arch.starts_with("swin_s3") ? "arXiv:2111.14725" : "arXiv:2103.14030";
  return cfg;
}

bool is_untrained(const TagEntry&) { return false; }  // every Swin tag has weights

}  // namespace

std::vector<PretrainedCfg> swin_pretrained_cfgs(std::string_view arch) {
  return tagged_cfgs(kTags, arch, make_cfg, is_untrained);
}

PretrainedCfg swin_default_cfg(std::string_view arch) {
  return default_tagged_cfg(kTags, arch, make_cfg, is_untrained, [arch] {
    // Not a timm name (a test entry): timm's _cfg without weights.
    PretrainedCfg cfg = make_cfg(TagEntry{.key = arch});
    cfg.hf_hub_id.clear();
    return cfg;
  });
}

}  // namespace autotimm::swin
