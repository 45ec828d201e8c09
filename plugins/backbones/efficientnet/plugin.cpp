// The EfficientNet / MobileNet plugin's entry point: one backbone per timm model name of efficientnet.py and
// mobilenetv3.py that this plugin builds, with its pretrained tags (registrations in variants.cpp).
#include "autotimm/plugin.hpp"

#include "variants.hpp"

AUTOTIMM_PLUGIN(efficientnet, {.version = "0.1.0",
                               .license = "Apache-2.0",
                               .description = "EfficientNet, EfficientNet-V2, MixNet, MobileNet-V2/V3 backbones, "
                                              "timm layout",
                               .origin = "https://example.org/autotimm-efficientnet",
                               .register_fn = &autotimm::efficientnet::register_efficientnet})
