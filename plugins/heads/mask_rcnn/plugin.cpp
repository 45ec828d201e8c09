// The Mask R-CNN head plugin: registers "mask_rcnn", torchvision's mask branch (MaskRCNNHeads + MaskRCNNPredictor):
// class-specific mask logits at twice the resolution of the RoIAlign features of each box.
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "mask_rcnn_head.hpp"

namespace autotimm::mask_rcnn {

void register_mask_rcnn_head(Registrar& registrar) {
  registrar.add(HeadEntry{
      .name = "mask_rcnn",
      .factory = [](const Config& options) -> std::shared_ptr<Head> {
        return std::make_shared<MaskRCNNHeadImpl>(MaskRCNNHeadOptions::from(options));
      },
      .description = "Mask R-CNN mask head, torchvision layout: 3x3 convs, 2x2 transposed conv, 1x1 per-class mask "
                     "logits on RoI features [K, C, S, S] -> [K, num_classes, 2S, 2S] (in_channels, num_classes, "
                     "channels, num_convs, dilation, norm)"});
}

}  // namespace autotimm::mask_rcnn

AUTOTIMM_PLUGIN(mask_rcnn, {.version = "0.1.0", .license = "Apache-2.0",
                            .description = "Mask R-CNN mask head",
                            .origin = "https://example.org/autotimm-heads",
                            .register_fn = &autotimm::mask_rcnn::register_mask_rcnn_head})
