#pragma once
// "ce": softmax cross-entropy over [N, C] logits, with label smoothing and class weights. Labels are class indices
// (int64 [N], entries equal to ignore_index count for nothing) or per-class probabilities (float [N, C], as mixup and
// cutmix make them), smoothed the same way: target * (1 - s) + s / C.
#include <cstdint>
#include <vector>

#include "autotimm/config.hpp"
#include "autotimm/loss.hpp"

namespace autotimm::classification_losses {

struct CrossEntropyOptions {
  double label_smoothing = 0.0;       ///< in [0, 1)
  std::vector<double> weight = {};    ///< one weight per class (empty: all 1)
  std::int64_t ignore_index = -100;   ///< class-index labels equal to this are left out

  static CrossEntropyOptions from(const Config& config);
};

class CrossEntropyLoss : public Loss {
 public:
  explicit CrossEntropyLoss(CrossEntropyOptions options);
  /// predictions {"logits": [N, C]}, targets {"labels": int64 [N] or float [N, C]} → the mean loss; no extra terms.
  LossOutput forward(const TensorMap& predictions, const TensorMap& targets) override;

 private:
  CrossEntropyOptions options_;
};

}  // namespace autotimm::classification_losses
