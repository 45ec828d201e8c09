// The FCOS head plugin: registers "fcos", the anchor-free detection head run on every level of a feature pyramid
// (classification logits, box distances in input pixels, centerness logits per location).
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "fcos_head.hpp"

namespace autotimm::fcos {

void register_fcos_head(Registrar& registrar) {
  registrar.add(HeadEntry{
      .name = "fcos",
      .factory = [](const Config& options) -> std::shared_ptr<Head> {
        return std::make_shared<FCOSHeadImpl>(FCOSHeadOptions::from(options));
      },
      .description = "FCOS detection head, torchvision layout: shared GroupNorm towers over P3..P7 (in_channels, "
                     "num_classes, num_convs, strides, prior_prob, num_groups, centerness_on_reg)"});
}

}  // namespace autotimm::fcos

AUTOTIMM_PLUGIN(fcos, {.version = "0.1.0", .license = "Apache-2.0",
                       .description = "FCOS anchor-free detection head",
                       .origin = "https://example.org/autotimm-heads",
                       .register_fn = &autotimm::fcos::register_fcos_head})
