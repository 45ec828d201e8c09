#pragma once
// "combined": cross-entropy plus Dice, the usual pairing for semantic segmentation (pixel-wise accuracy from the
// cross-entropy, class balance from Dice):
//
//   total = ce_weight · loss_ce + dice_weight · loss_dice
//
// loss_ce is "ce" without label smoothing, loss_dice is "dice" with smooth 1; both get ignore_index and class_weights.
// The terms are reported unweighted.
//
//   auto loss = CombinedSegmentationLoss({.class_weights = {1.0, 2.0, 4.0}, .dice_weight = 0.5});
#include <cstdint>
#include <vector>

#include "autotimm/config.hpp"
#include "autotimm/loss.hpp"

namespace autotimm::segmentation_losses {

struct CombinedSegmentationLossOptions {
  std::int64_t ignore_index = 255;         ///< labels equal to this count nowhere, in both terms
  std::vector<double> class_weights = {};  ///< one weight >= 0 per class, in both terms; empty: all 1
  double ce_weight = 1.0;                  ///< weight of loss_ce in the total, finite and >= 0
  double dice_weight = 1.0;                ///< weight of loss_dice in the total, finite and >= 0

  static CombinedSegmentationLossOptions from(const Config& config);
};

class CombinedSegmentationLoss : public Loss {
 public:
  explicit CombinedSegmentationLoss(CombinedSegmentationLossOptions options);
  /// predictions {"logits": [B, C, H, W]}, targets {"labels": int64 [B, H, W]}
  /// → total and the unweighted terms "loss_ce" and "loss_dice".
  LossOutput forward(const TensorMap& predictions, const TensorMap& targets) override;

 private:
  CombinedSegmentationLossOptions options_;
};

}  // namespace autotimm::segmentation_losses
