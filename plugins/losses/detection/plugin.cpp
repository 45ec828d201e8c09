// The detection loss plugin: "fcos" (the FCOS detector's three-term loss), "giou" and "sigmoid_focal" on their own so
// that users can combine them, and the instance segmentation mask losses "mask_bce" and "mask_dice".
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "fcos_loss.hpp"
#include "focal_loss.hpp"
#include "giou_loss.hpp"
#include "mask_loss.hpp"

namespace autotimm::detection_losses {

void register_detection_losses(Registrar& registrar) {
  registrar.add(LossEntry{
      .name = "fcos",
      .factory = [](const Config& options) -> std::shared_ptr<Loss> {
        return std::make_shared<FcosLoss>(FcosLossOptions::from(options));
      },
      .description = "FCOS: sigmoid focal classification, GIoU boxes and centerness BCE over num_positives "
                     "(focal_alpha, focal_gamma, cls_weight, box_weight, centerness_weight)"});
  registrar.add(LossEntry{
      .name = "giou",
      .factory = [](const Config& options) -> std::shared_ptr<Loss> {
        return std::make_shared<GiouLoss>(GiouLossOptions::from(options));
      },
      .description = "generalized-IoU loss of paired xyxy boxes, optionally weighted (reduction: mean, sum)"});
  registrar.add(LossEntry{
      .name = "sigmoid_focal",
      .factory = [](const Config& options) -> std::shared_ptr<Loss> {
        return std::make_shared<SigmoidFocalLoss>(SigmoidFocalLossOptions::from(options));
      },
      .description = "sigmoid focal loss on labels (-1 background, -2 ignored) or one-hot targets (alpha, gamma)"});
  registrar.add(LossEntry{
      .name = "mask_bce",
      .factory = [](const Config& options) -> std::shared_ptr<Loss> {
        return std::make_shared<MaskBceLoss>(MaskLossOptions::from(options));
      },
      .description = "Mask R-CNN mask loss: BCE with logits of each box's class channel against its mask target, "
                     "mean over pixels (weight)"});
  registrar.add(LossEntry{
      .name = "mask_dice",
      .factory = [](const Config& options) -> std::shared_ptr<Loss> {
        return std::make_shared<MaskDiceLoss>(MaskLossOptions::from(options));
      },
      .description = "1 - soft Dice (smooth 1) of each box's class channel against its mask target, mean over boxes "
                     "(weight)"});
}

}  // namespace autotimm::detection_losses

AUTOTIMM_PLUGIN(detection, {.version = "0.1.0", .license = "Apache-2.0",
                            .description = "object detection losses: fcos, giou, sigmoid_focal, mask_bce, mask_dice",
                            .origin = "https://example.org/autotimm-losses",
                            .register_fn = &autotimm::detection_losses::register_detection_losses})
