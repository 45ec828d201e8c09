#pragma once
// "fcos": the loss of the FCOS detector (Tian et al.), on the head's outputs flattened over the pyramid (the detection
// contract). Per image and location: a class index >= 0 marks a positive, -1 a background location, -2 one to ignore.
//
//   loss_cls        = Σ over non-ignored locations and classes of sigmoid_focal(logit, one-hot) / num_positives
//   loss_box        = Σ over positives of (1 − GIoU(pred, target)) / num_positives, boxes decoded as (−l, −t, r, b)
//   loss_centerness = Σ over positives of BCE-with-logits(centerness, target) / num_positives
//   total           = cls_weight · loss_cls + box_weight · loss_box + centerness_weight · loss_centerness
//
// As in torchvision's FCOS, num_positives comes from the task (averaged over ranks, at least 1); with no positive the
// box and centerness terms are 0, still part of the graph.
#include "autotimm/config.hpp"
#include "autotimm/loss.hpp"

namespace autotimm::detection_losses {

struct FcosLossOptions {
  double focal_alpha = 0.25;       ///< weight of positive class targets (negatives 1 − alpha); < 0: no weighting
  double focal_gamma = 2.0;        ///< focusing exponent, >= 0
  double cls_weight = 1.0;         ///< weight of loss_cls in the total, >= 0
  double box_weight = 1.0;         ///< weight of loss_box in the total, >= 0
  double centerness_weight = 1.0;  ///< weight of loss_centerness in the total, >= 0

  static FcosLossOptions from(const Config& config);
};

class FcosLoss : public Loss {
 public:
  explicit FcosLoss(FcosLossOptions options);
  /// predictions {"cls_logits": [B, N, C], "box_ltrb": [B, N, 4], "centerness": [B, N]},
  /// targets {"labels": int64 [B, N], "box_ltrb": [B, N, 4], "centerness": [B, N], "num_positives": scalar}
  /// → total plus the unweighted terms "loss_cls", "loss_box" and "loss_centerness".
  LossOutput forward(const TensorMap& predictions, const TensorMap& targets) override;

 private:
  FcosLossOptions options_;
};

}  // namespace autotimm::detection_losses
