#pragma once
// "bce": binary cross-entropy on logits, one independent sigmoid per class (multi-label classification). Targets are
// float [N, C] 0/1 (or soft) values, or int64 [N] class indices turned into one-hot rows (timm's BinaryCrossEntropy).
// Label smoothing maps each target t to t * (1 - s) + s / C: for one-hot rows off = s / C and
// on = 1 - s + s / C, as timm does.
#include <vector>

#include "autotimm/config.hpp"
#include "autotimm/loss.hpp"

namespace autotimm::classification_losses {

struct BinaryCrossEntropyOptions {
  double label_smoothing = 0.0;        ///< in [0, 1)
  std::vector<double> pos_weight = {}; ///< weight of the positive term per class (empty: 1)
  std::vector<double> weight = {};     ///< weight of each class's loss (empty: 1)

  static BinaryCrossEntropyOptions from(const Config& config);
};

class BinaryCrossEntropyLoss : public Loss {
 public:
  explicit BinaryCrossEntropyLoss(BinaryCrossEntropyOptions options);
  /// predictions {"logits": [N, C]}, targets {"labels": float [N, C] or int64 [N]} → mean over N × C.
  LossOutput forward(const TensorMap& predictions, const TensorMap& targets) override;

 private:
  BinaryCrossEntropyOptions options_;
};

}  // namespace autotimm::classification_losses
