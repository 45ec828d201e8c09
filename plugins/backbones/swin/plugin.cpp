// The Swin plugin's entry point and registrations: one backbone per timm model name, with its pretrained tags, and
// timm's deprecated names as aliases.
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "variants.hpp"

namespace autotimm::swin {

void register_swin(Registrar& registrar) {
  for (const auto& variant : kSwinVariants) {
    const std::string name(variant.name);
    const SwinTransformerOptions defaults = options_of(variant);
    registrar.add(BackboneEntry{.name = name,
                                .factory = [defaults, name](const Config& model_args) -> std::shared_ptr<Backbone> {
                                  return std::make_shared<SwinTransformerImpl>(swin_options_from(model_args, defaults),
                                                                               swin_default_cfg(name));
                                },
                                .pretrained = swin_pretrained_cfgs(name),
                                .description = std::string(variant.description)});
  }
  for (const auto& deprecated : kSwinDeprecatedNames) {
    registrar.add(
        BackboneAliasEntry{.name = std::string(deprecated.name), .target = std::string(deprecated.replacement)});
  }
}

}  // namespace autotimm::swin

AUTOTIMM_PLUGIN(swin, {.version = "0.1.0",
                       .license = "Apache-2.0",
                       .description = "Swin Transformer (V1, S3) backbones, timm layout",
                       .origin = "https://example.org/autotimm-swin",
                       .register_fn = &autotimm::swin::register_swin})
