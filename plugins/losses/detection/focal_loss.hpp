#pragma once
// "sigmoid_focal": the sigmoid focal loss (Lin et al., RetinaNet) of [..., C] logits, to combine with other losses.
// Targets are either "labels", int64 of the logits' shape without the class axis (a class index, -1 background: every
// class target 0, -2 ignored: left out), or "targets", floating of the logits' shape (one-hot or soft).
// The loss is the sum over every counted logit, divided by targets "normalizer" when given (the number of positives,
// say), else by the number of counted logits (the mean).
#include "autotimm/config.hpp"
#include "autotimm/loss.hpp"

namespace autotimm::detection_losses {

struct SigmoidFocalLossOptions {
  double alpha = 0.25;  ///< weight of positive targets (negatives 1 − alpha); < 0: no weighting, as torchvision
  double gamma = 2.0;   ///< focusing exponent, >= 0

  static SigmoidFocalLossOptions from(const Config& config);
};

class SigmoidFocalLoss : public Loss {
 public:
  explicit SigmoidFocalLoss(SigmoidFocalLossOptions options);
  /// predictions {"logits": [..., C]}, targets {"labels": int64 [...] or "targets": [..., C], optional "normalizer"}.
  LossOutput forward(const TensorMap& predictions, const TensorMap& targets) override;

 private:
  SigmoidFocalLossOptions options_;
};

}  // namespace autotimm::detection_losses
