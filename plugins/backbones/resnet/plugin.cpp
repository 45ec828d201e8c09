// The ResNet plugin's entry point and registrations: one backbone per timm model name, with its pretrained tags, and
// timm's deprecated names as aliases.
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "variants.hpp"

namespace autotimm::resnet {

void register_resnet(Registrar& registrar) {
  for (const auto& variant : kResNetVariants) {
    const std::string name(variant.name);
    const ResNetOptions defaults = options_of(variant);
    registrar.add(BackboneEntry{
        .name = name,
        .factory = [defaults, name](const Config& model_args) -> std::shared_ptr<Backbone> {
          return std::make_shared<ResNetImpl>(resnet_options_from(model_args, defaults), resnet_default_cfg(name));
        },
        .pretrained = resnet_pretrained_cfgs(name),
        .description = std::string(variant.description)});
  }
  for (const auto& deprecated : kResNetDeprecatedNames) {
    registrar.add(BackboneAliasEntry{.name = std::string(deprecated.name), .target = std::string(deprecated.replacement)});
  }
}

}  // namespace autotimm::resnet

AUTOTIMM_PLUGIN(resnet, {.version = "0.1.0", .license = "Apache-2.0",
                         .description = "ResNet, ResNeXt, SE/ECA-ResNet, SENet and ResNet-RS backbones, timm layout",
                         .origin = "https://example.org/autotimm-resnet",
                         .register_fn = &autotimm::resnet::register_resnet})
