// The RegNet plugin's entry point and registrations: one backbone per timm model name, with its pretrained tags,
// and timm's deprecated name as an alias.
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "variants.hpp"

namespace autotimm::regnet {

void register_regnet(Registrar& registrar) {
  for (const auto& variant : kRegNetVariants) {
    const std::string name(variant.name);
    const RegNetOptions defaults = options_of(variant);
    registrar.add(BackboneEntry{.name = name,
                                .factory = [defaults, name](const Config& model_args) -> std::shared_ptr<Backbone> {
                                  return std::make_shared<RegNetImpl>(regnet_options_from(model_args, defaults),
                                                                      regnet_default_cfg(name));
                                },
                                .pretrained = regnet_pretrained_cfgs(name),
                                .description = std::string(variant.description)});
  }
  for (const auto& deprecated : kRegNetDeprecatedNames) {
    registrar.add(
        BackboneAliasEntry{.name = std::string(deprecated.name), .target = std::string(deprecated.replacement)});
  }
}

}  // namespace autotimm::regnet

AUTOTIMM_PLUGIN(regnet, {.version = "0.1.0",
                         .license = "Apache-2.0",
                         .description = "RegNet X, Y, V and Z backbones, timm layout",
                         .origin = "https://example.org/autotimm-regnet",
                         .register_fn = &autotimm::regnet::register_regnet})
