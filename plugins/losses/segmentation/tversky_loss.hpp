#pragma once
// "tversky": the Tversky loss (Salehi et al.), Dice with separate weights on false positives and false negatives.
// Per class c, over the batch and every counted pixel, with p the softmax probabilities and g the one-hot labels:
//
//   TP = Σ p·g,  FP = Σ p·(1 − g),  FN = Σ (1 − p)·g
//   tversky_c    = 1 − (TP + smooth) / (TP + alpha · FP + beta · FN + smooth)
//   loss_tversky = mean of tversky_c over the classes present in the labels, as "dice" (optionally class_weights)
//
// alpha = beta = 0.5 is Dice with twice the smoothing: (TP + s) / ((Σp + Σg) / 2 + s) = (2TP + 2s) / (Σp + Σg + 2s).
//
//   auto loss = TverskyLoss({.alpha = 0.3, .beta = 0.7});
#include <cstdint>
#include <vector>

#include "autotimm/config.hpp"
#include "autotimm/loss.hpp"

namespace autotimm::segmentation_losses {

struct TverskyLossOptions {
  std::int64_t ignore_index = 255;         ///< labels equal to this count nowhere
  double alpha = 0.5;                      ///< weight of false positives, finite and >= 0
  double beta = 0.5;                       ///< weight of false negatives, finite and >= 0
  double smooth = 1.0;                     ///< added to numerator and denominator, finite and >= 0
  std::vector<double> class_weights = {};  ///< one weight >= 0 per class in the class mean; empty: all 1

  static TverskyLossOptions from(const Config& config);
};

class TverskyLoss : public Loss {
 public:
  explicit TverskyLoss(TverskyLossOptions options);
  /// predictions {"logits": [B, C, H, W]}, targets {"labels": int64 [B, H, W]} → the total (no separate terms).
  LossOutput forward(const TensorMap& predictions, const TensorMap& targets) override;

 private:
  TverskyLossOptions options_;
};

}  // namespace autotimm::segmentation_losses
