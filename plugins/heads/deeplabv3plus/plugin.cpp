// The DeepLabV3+ head plugin: registers "deeplabv3plus", the semantic segmentation head that reads a backbone's
// stride-4 map and its deepest map and returns class logits at stride 4.
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "deeplabv3plus_head.hpp"

namespace autotimm::deeplabv3plus {

void register_deeplabv3plus_head(Registrar& registrar) {
  registrar.add(HeadEntry{
      .name = "deeplabv3plus",
      .factory = [](const Config& options) -> std::shared_ptr<Head> {
        return std::make_shared<DeepLabV3PlusHeadImpl>(DeepLabV3PlusHeadOptions::from(options));
      },
      .description = "DeepLabV3+ segmentation head: torchvision's ASPP on the deepest map, decoder with the stride-4 "
                     "map, logits at stride 4 (in_channels, num_classes, aspp_channels, aspp_rates, "
                     "low_level_channels, decoder_channels, dropout)"});
}

}  // namespace autotimm::deeplabv3plus

AUTOTIMM_PLUGIN(deeplabv3plus, {.version = "0.1.0", .license = "Apache-2.0",
                                .description = "DeepLabV3+ semantic segmentation head (ASPP and decoder)",
                                .origin = "https://example.org/autotimm-heads",
                                .register_fn = &autotimm::deeplabv3plus::register_deeplabv3plus_head})
