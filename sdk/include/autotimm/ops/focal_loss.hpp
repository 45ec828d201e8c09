#pragma once
// Sigmoid focal loss (Lin et al., RetinaNet), the classification term of dense detectors: binary cross-entropy per
// logit, scaled by (1 − p_t)^gamma so easy examples fade, and weighted by alpha for positives, 1 − alpha for negatives.
//
//   auto loss = autotimm::ops::sigmoid_focal_loss(logits, one_hot, {.alpha = 0.25, .gamma = 2.0,
//                                                                   .reduction = autotimm::ops::Reduction::sum});
//   loss = loss / num_positives;
#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"

namespace autotimm::ops {

enum class Reduction { none, mean, sum };

struct FocalLossOptions {
  double alpha = 0.25;  ///< weight of the positives (negatives: 1 − alpha); negative: no weighting
  double gamma = 2.0;   ///< focusing exponent; 0 with alpha < 0 is plain binary cross-entropy
  Reduction reduction = Reduction::none;
};

/// `logits` and `targets` (0 / 1, or soft in [0, 1]) of the same shape. Numerically stable for any logit (the
/// cross-entropy is computed from logits). ConfigError for shapes that differ or a negative gamma.
AUTOTIMM_API at::Tensor sigmoid_focal_loss(const at::Tensor& logits, const at::Tensor& targets,
                                           const FocalLossOptions& options = {});

}  // namespace autotimm::ops
