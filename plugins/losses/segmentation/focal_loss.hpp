#pragma once
// "focal": the multi-class focal loss (Lin et al.) on per-pixel softmax probabilities, averaged over the counted
// pixels:
//
//   loss_focal = Σ_i −alpha_{y_i} · (1 − p_i[y_i])^gamma · log p_i[y_i] / (number of counted pixels)
//
// alpha is one weight per class (all 1 when unset); the mean is a plain one, not normalised by the alphas. gamma = 0
// without alpha is the cross-entropy ("ce"). A batch with no counted pixel gives 0, still in the graph.
//
//   auto loss = FocalLoss({.gamma = 2.0});
#include <cstdint>
#include <vector>

#include "autotimm/config.hpp"
#include "autotimm/loss.hpp"

namespace autotimm::segmentation_losses {

struct FocalLossOptions {
  std::int64_t ignore_index = 255;  ///< labels equal to this count nowhere
  std::vector<double> alpha = {};   ///< one weight >= 0 per class; empty (or null): no weighting
  double gamma = 2.0;               ///< focusing exponent, finite and >= 0

  static FocalLossOptions from(const Config& config);
};

class FocalLoss : public Loss {
 public:
  explicit FocalLoss(FocalLossOptions options);
  /// predictions {"logits": [B, C, H, W]}, targets {"labels": int64 [B, H, W]} → the total (no separate terms).
  LossOutput forward(const TensorMap& predictions, const TensorMap& targets) override;

 private:
  FocalLossOptions options_;
};

}  // namespace autotimm::segmentation_losses
