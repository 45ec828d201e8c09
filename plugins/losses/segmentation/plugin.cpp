// The semantic segmentation loss plugin (the segmentation contract): "segmentation_ce", "segmentation_dice",
// "segmentation_focal", "segmentation_tversky" and "segmentation_combined" (ce + dice), all on logits [B, C, H, W]
// and labels [B, H, W] with an ignore_index (255 by default). The prefix keeps them apart from the classification
// losses ("ce" there is softmax cross-entropy over images); SemanticSegmentor's `loss` takes the short names.
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "combined_loss.hpp"
#include "cross_entropy_loss.hpp"
#include "dice_loss.hpp"
#include "focal_loss.hpp"
#include "tversky_loss.hpp"

namespace autotimm::segmentation_losses {

void register_segmentation_losses(Registrar& registrar) {
  registrar.add(LossEntry{
      .name = "segmentation_ce",
      .factory = [](const Config& options) -> std::shared_ptr<Loss> {
        return std::make_shared<CrossEntropyLoss>(CrossEntropyLossOptions::from(options));
      },
      .description = "per-pixel softmax cross-entropy, mean over counted pixels (ignore_index, class_weights, "
                     "label_smoothing)"});
  registrar.add(LossEntry{
      .name = "segmentation_dice",
      .factory = [](const Config& options) -> std::shared_ptr<Loss> {
        return std::make_shared<DiceLoss>(DiceLossOptions::from(options));
      },
      .description = "soft Dice of softmax probabilities, mean over classes present in the labels (ignore_index, "
                     "smooth, class_weights)"});
  registrar.add(LossEntry{
      .name = "segmentation_focal",
      .factory = [](const Config& options) -> std::shared_ptr<Loss> {
        return std::make_shared<FocalLoss>(FocalLossOptions::from(options));
      },
      .description = "multi-class softmax focal loss, mean over counted pixels (ignore_index, alpha, gamma)"});
  registrar.add(LossEntry{
      .name = "segmentation_tversky",
      .factory = [](const Config& options) -> std::shared_ptr<Loss> {
        return std::make_shared<TverskyLoss>(TverskyLossOptions::from(options));
      },
      .description = "Tversky loss, mean over classes present in the labels (ignore_index, alpha, beta, smooth, "
                     "class_weights)"});
  registrar.add(LossEntry{
      .name = "segmentation_combined",
      .factory = [](const Config& options) -> std::shared_ptr<Loss> {
        return std::make_shared<CombinedSegmentationLoss>(CombinedSegmentationLossOptions::from(options));
      },
      .description = "ce_weight * ce + dice_weight * dice (ignore_index, class_weights)"});
}

}  // namespace autotimm::segmentation_losses

AUTOTIMM_PLUGIN(segmentation, {.version = "0.1.0", .license = "Apache-2.0",
                               .description = "semantic segmentation losses: segmentation_{ce,dice,focal,tversky,combined}",
                               .origin = "https://example.org/autotimm-losses",
                               .register_fn = &autotimm::segmentation_losses::register_segmentation_losses})
