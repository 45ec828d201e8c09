#include "autotimm/ops/focal_loss.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"

namespace autotimm::ops {

at::Tensor sigmoid_focal_loss(const at::Tensor& logits, const at::Tensor& targets, const FocalLossOptions& options) {
  if (!logits.defined() || !targets.defined() || logits.sizes() != targets.sizes()) {
    throw ConfigError("sigmoid_focal_loss: expected logits and targets of the same shape");
  }
  if (!(options.gamma >= 0.0)) {
    throw ConfigError("sigmoid_focal_loss: expected gamma >= 0, got " + std::to_string(options.gamma));
  }
  const auto t = targets.to(logits.scalar_type());
  const auto p = torch::sigmoid(logits);
  const auto ce = torch::binary_cross_entropy_with_logits(logits, t, {}, {}, at::Reduction::None);
  const auto p_t = p * t + (1 - p) * (1 - t);
  auto loss = options.gamma == 0.0 ? ce : ce * (1 - p_t).pow(options.gamma);
  if (options.alpha >= 0.0) loss = loss * (options.alpha * t + (1 - options.alpha) * (1 - t));
  switch (options.reduction) {
    case Reduction::mean:
      return loss.mean();
    case Reduction::sum:
      return loss.sum();
    case Reduction::none:
      break;
  }
  return loss;
}

}  // namespace autotimm::ops
