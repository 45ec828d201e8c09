#pragma once
// "dice": soft Dice of the softmax probabilities p against the one-hot labels g, summed over the batch and every
// counted pixel, per class c:
//
//   dice_c    = 1 − (2 · Σ p·g + smooth) / (Σ p + Σ g + smooth)
//   loss_dice = mean of dice_c over the classes with at least one counted pixel in the labels
//               (weighted by class_weights when given: Σ w_c · dice_c / Σ w_c over those classes)
//
// Classes absent from the labels are left out, as in segmentation_models_pytorch's DiceLoss, which zeroes them; unlike
// it we divide by the number of classes present, not by C, so the scale does not depend on how many classes a batch
// happens to lack (smp's value = ours · present / C). A batch with no counted pixel gives 0, still in the graph.
//
//   auto loss = DiceLoss({.smooth = 1.0});
#include <cstdint>
#include <vector>

#include "autotimm/config.hpp"
#include "autotimm/loss.hpp"
#include "inputs.hpp"

namespace autotimm::segmentation_losses {

struct DiceLossOptions {
  std::int64_t ignore_index = 255;         ///< labels equal to this count nowhere
  double smooth = 1.0;                     ///< added to numerator and denominator, finite and >= 0
  std::vector<double> class_weights = {};  ///< one weight >= 0 per class in the class mean; empty: all 1

  static DiceLossOptions from(const Config& config);
};

/// The Dice loss of prepared inputs; `class_weights` [C] or undefined. Shared with "combined".
torch::Tensor dice_term(const SegmentationInputs& inputs, const torch::Tensor& class_weights, double smooth);

class DiceLoss : public Loss {
 public:
  explicit DiceLoss(DiceLossOptions options);
  /// predictions {"logits": [B, C, H, W]}, targets {"labels": int64 [B, H, W]} → the total (no separate terms).
  LossOutput forward(const TensorMap& predictions, const TensorMap& targets) override;

 private:
  DiceLossOptions options_;
};

}  // namespace autotimm::segmentation_losses
