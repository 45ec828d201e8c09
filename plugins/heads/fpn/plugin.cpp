// The feature pyramid plugin: registers "fpn", the neck that turns a backbone's C3..C5 into the P3..P7 maps the
// "fcos" head reads. It is a Head because its signature is one: a list of maps in, a list of maps out.
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "feature_pyramid_network.hpp"

namespace autotimm::fpn {

void register_fpn_head(Registrar& registrar) {
  registrar.add(HeadEntry{
      .name = "fpn",
      .factory = [](const Config& options) -> std::shared_ptr<Head> {
        return std::make_shared<FeaturePyramidNetworkImpl>(FeaturePyramidNetworkOptions::from(options));
      },
      .description = "feature pyramid neck, torchvision layout: C3..C5 to P3..P7 (in_channels, out_channels, "
                     "num_extra_levels)"});
}

}  // namespace autotimm::fpn

AUTOTIMM_PLUGIN(fpn, {.version = "0.1.0", .license = "Apache-2.0",
                      .description = "feature pyramid network neck with P6/P7 extra levels",
                      .origin = "https://example.org/autotimm-heads",
                      .register_fn = &autotimm::fpn::register_fpn_head})
