// The ViT plugin's entry point and registrations: one backbone per timm model name (ViT, DeiT, DeiT III), with its
// pretrained tags, and timm's deprecated names as aliases.
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "variants.hpp"

namespace autotimm::vit {

void register_vit(Registrar& registrar) {
  for (const auto& variant : kVitVariants) {
    const std::string name(variant.name);
    // timm builds a name with its default tag's class count (build_model_with_cfg): DINOv2, MAE and the in21k
    // "orig" weights are headless by default.
    VisionTransformerOptions defaults = options_of(variant);
    defaults.num_classes = vit_default_cfg(name).num_classes;
    registrar.add(BackboneEntry{
        .name = name,
        .factory = [defaults, name](const Config& model_args) -> std::shared_ptr<Backbone> {
          return std::make_shared<VisionTransformerImpl>(vit_options_from(model_args, defaults), vit_default_cfg(name));
        },
        .pretrained = vit_pretrained_cfgs(name),
        .description = std::string(variant.description)});
  }
  for (const auto& deprecated : kVitDeprecatedNames) {
    registrar.add(BackboneAliasEntry{.name = std::string(deprecated.name),
                                     .target = std::string(deprecated.replacement)});
  }
}

}  // namespace autotimm::vit

AUTOTIMM_PLUGIN(vit, {.version = "0.1.0", .license = "Apache-2.0",
                      .description = "Vision Transformer (ViT, DINOv2, register tokens) and DeiT / DeiT III backbones, "
                                     "timm layout",
                      .origin = "https://example.org/autotimm-vit",
                      .register_fn = &autotimm::vit::register_vit})
