#pragma once
// "ce": per-pixel softmax cross-entropy of logits [B, C, H, W] against labels [B, H, W], averaged over the counted
// pixels (labels other than ignore_index), as torch's cross_entropy with weight, ignore_index and label_smoothing:
//
//   nll_i    = −log p_i[y_i]                 smooth_i = −Σ_c w_c · log p_i[c]
//   loss_ce  = (1 − s) · Σ_i w_{y_i} · nll_i / Σ_i w_{y_i}  +  (s / C) · Σ_i smooth_i / Σ_i w_{y_i}
//
// with w = class_weights (all 1 when unset) and s = label_smoothing. A batch with no counted pixel gives 0, still in
// the graph, where torch gives NaN.
//
//   auto loss = CrossEntropyLoss({.ignore_index = 255, .label_smoothing = 0.1});
#include <cstdint>
#include <vector>

#include "autotimm/config.hpp"
#include "autotimm/loss.hpp"
#include "inputs.hpp"

namespace autotimm::segmentation_losses {

struct CrossEntropyLossOptions {
  std::int64_t ignore_index = 255;         ///< labels equal to this count nowhere
  std::vector<double> class_weights = {};  ///< one weight >= 0 per class; empty: all 1
  double label_smoothing = 0.0;            ///< in [0, 1)

  static CrossEntropyLossOptions from(const Config& config);
};

/// The cross-entropy of prepared inputs; `class_weights` [C] or undefined. Shared with "combined".
torch::Tensor cross_entropy_term(const SegmentationInputs& inputs, const torch::Tensor& class_weights,
                                 double label_smoothing);

class CrossEntropyLoss : public Loss {
 public:
  explicit CrossEntropyLoss(CrossEntropyLossOptions options);
  /// predictions {"logits": [B, C, H, W]}, targets {"labels": int64 [B, H, W]} → the total (no separate terms).
  LossOutput forward(const TensorMap& predictions, const TensorMap& targets) override;

 private:
  CrossEntropyLossOptions options_;
};

}  // namespace autotimm::segmentation_losses
