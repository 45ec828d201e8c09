#pragma once
// "giou": the generalized-IoU loss of paired boxes, 1 − GIoU(prediction_i, target_i) (Rezatofighi et al.), to combine
// with other losses or to train a box regressor on its own. Boxes are xyxy in any unit (both sets the same).
// Optional per-pair weights scale each term; "mean" divides the weighted sum by the number of pairs (as mmdet's
// weight_reduce_loss does), "sum" leaves it: divide by your own normaliser.
#include "autotimm/config.hpp"
#include "autotimm/loss.hpp"
#include "autotimm/ops/focal_loss.hpp"

namespace autotimm::detection_losses {

struct GiouLossOptions {
  ops::Reduction reduction = ops::Reduction::mean;  ///< "mean" or "sum" ("none" is refused: the total is a scalar)

  static GiouLossOptions from(const Config& config);
};

class GiouLoss : public Loss {
 public:
  explicit GiouLoss(GiouLossOptions options);
  /// predictions {"boxes": [N, 4]}, targets {"boxes": [N, 4], optional "weights": [N]} → the reduced loss.
  LossOutput forward(const TensorMap& predictions, const TensorMap& targets) override;

 private:
  GiouLossOptions options_;
};

}  // namespace autotimm::detection_losses
