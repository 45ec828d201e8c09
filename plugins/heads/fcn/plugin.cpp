// The FCN head plugin: registers "fcn", torchvision's FCNHead, the simplest semantic segmentation head: class logits
// at the resolution of the last feature map it is given.
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "fcn_head.hpp"

namespace autotimm::fcn {

void register_fcn_head(Registrar& registrar) {
  registrar.add(HeadEntry{
      .name = "fcn",
      .factory = [](const Config& options) -> std::shared_ptr<Head> {
        return std::make_shared<FCNHeadImpl>(FCNHeadOptions::from(options));
      },
      .description = "FCN segmentation head, torchvision layout: 3x3 conv-BN-ReLU, dropout, 1x1 classifier on the last "
                     "map (in_channels, num_classes, channels, dropout)"});
}

}  // namespace autotimm::fcn

AUTOTIMM_PLUGIN(fcn, {.version = "0.1.0", .license = "Apache-2.0",
                      .description = "FCN semantic segmentation head",
                      .origin = "https://example.org/autotimm-heads",
                      .register_fn = &autotimm::fcn::register_fcn_head})
