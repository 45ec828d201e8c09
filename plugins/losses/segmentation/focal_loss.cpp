#include "focal_loss.hpp"

#include <torch/torch.h>

#include "autotimm/model_args.hpp"
#include "inputs.hpp"

namespace autotimm::segmentation_losses {
namespace {

constexpr std::string_view kLoss = "segmentation_focal";

// Smallest 1 − p_y fed to pow(): at exactly 0 (a saturated softmax) pow's gradient for gamma < 1 is infinite, and
// 0 · ∞ is NaN. The value is unchanged there, since the factor multiplies log p_y = 0.
constexpr double kMinOneMinusP = 1e-12;

}  // namespace

FocalLossOptions FocalLossOptions::from(const Config& config) {
  FocalLossOptions options;
  read_arg(config, "ignore_index", options.ignore_index);
  read_arg(config, "alpha", options.alpha);
  read_arg(config, "gamma", options.gamma);
  return options;
}

FocalLoss::FocalLoss(FocalLossOptions options) : options_(std::move(options)) {
  check_per_class_option(options_.alpha, kLoss, "alpha");
  check_non_negative(options_.gamma, kLoss, "gamma");
}

LossOutput FocalLoss::forward(const TensorMap& predictions, const TensorMap& targets) {
  const auto inputs = segmentation_inputs(predictions, targets, options_.ignore_index, kLoss);
  const auto alpha = per_class_tensor(options_.alpha, inputs, kLoss, "alpha");
  // log p_y per pixel; 0 at ignored pixels, whose one-hot rows are all zero.
  const auto log_p_target = (inputs.one_hot * torch::log_softmax(inputs.logits, 1)).sum(1);
  const auto modulation = (1.0 - log_p_target.exp()).clamp_min(kMinOneMinusP).pow(options_.gamma);
  auto per_pixel = -modulation * log_p_target;
  if (alpha.defined()) per_pixel = per_pixel * (inputs.one_hot * alpha.view({1, -1, 1, 1})).sum(1);
  const auto loss = safe_divide(per_pixel.sum(), inputs.counted.sum());
  return {.total = loss, .terms = {}};  // a single loss: the total is its only term, not repeated (loss.hpp)
}

}  // namespace autotimm::segmentation_losses
