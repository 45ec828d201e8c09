#pragma once
// The mask losses of instance segmentation, on a Mask R-CNN head's class-specific mask logits [K, C, M, M]: for each
// of the K boxes only the channel of its class is read (labels [K]) and compared with its mask target [K, M, M]
// (the box's ground-truth mask cropped and resized to M x M, values in [0, 1]).
//   "mask_bce":  binary cross-entropy with logits, averaged over K·M·M pixels (Mask R-CNN's mask loss).
//   "mask_dice": 1 − soft Dice of sigmoid probabilities per box, (2·Σpt + 1) / (Σp + Σt + 1), averaged over boxes.
// With no box (K = 0) the total is 0 and still depends on the logits (their sum times 0), so that every parameter of
// the head receives a gradient and distributed data parallel does not wait for missing ones.
#include "autotimm/config.hpp"
#include "autotimm/loss.hpp"

namespace autotimm::detection_losses {

struct MaskLossOptions {
  double weight = 1.0;  ///< scales the total, finite and >= 0

  static MaskLossOptions from(const Config& config);
};

class MaskBceLoss : public Loss {
 public:
  explicit MaskBceLoss(MaskLossOptions options);
  /// predictions {"mask_logits": [K, C, M, M]}, targets {"mask_targets": floating [K, M, M], "labels": int64 [K]}.
  LossOutput forward(const TensorMap& predictions, const TensorMap& targets) override;

 private:
  MaskLossOptions options_;
};

class MaskDiceLoss : public Loss {
 public:
  explicit MaskDiceLoss(MaskLossOptions options);
  /// The same inputs as MaskBceLoss.
  LossOutput forward(const TensorMap& predictions, const TensorMap& targets) override;

 private:
  MaskLossOptions options_;
};

}  // namespace autotimm::detection_losses
