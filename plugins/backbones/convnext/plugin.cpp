// The ConvNeXt plugin's entry point and registrations: one backbone per timm model name, with its pretrained tags,
// and timm's deprecated names as aliases.
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "variants.hpp"

namespace autotimm::convnext {

void register_convnext(Registrar& registrar) {
  for (const auto& variant : kConvNeXtVariants) {
    const std::string name(variant.name);
    const ConvNeXtOptions defaults = options_of(variant);
    registrar.add(BackboneEntry{.name = name,
                                .factory = [defaults, name](const Config& model_args) -> std::shared_ptr<Backbone> {
                                  return std::make_shared<ConvNeXtImpl>(convnext_options_from(model_args, defaults),
                                                                        convnext_default_cfg(name));
                                },
                                .pretrained = convnext_pretrained_cfgs(name),
                                .description = std::string(variant.description)});
  }
  for (const auto& deprecated : kConvNeXtDeprecatedNames) {
    registrar.add(
        BackboneAliasEntry{.name = std::string(deprecated.name), .target = std::string(deprecated.replacement)});
  }
}

}  // namespace autotimm::convnext

AUTOTIMM_PLUGIN(convnext, {.version = "0.1.0",
                           .license = "Apache-2.0",
                           .description = "ConvNeXt and ConvNeXt-V2 backbones, timm layout",
                           .origin = "https://example.org/autotimm-convnext",
                           .register_fn = &autotimm::convnext::register_convnext})
