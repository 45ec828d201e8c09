#include "mask_loss.hpp"

#include <torch/torch.h>

#include <cmath>
#include <string>
#include <string_view>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "inputs.hpp"

namespace autotimm::detection_losses {
namespace {

constexpr std::string_view kExpectedLogits = "mask_logits [K, C, M, M] (a mask logit map per class for each box)";
constexpr std::string_view kExpectedTargets =
    "mask_targets [K, M, M] (floating, 0/1) and labels [K] (int64, the class of each box)";

// What both losses read: for each box the logits of its class's channel, and its target in the logits' type.
struct SelectedMasks {
  torch::Tensor logits;      ///< [K, M, M]
  torch::Tensor targets;     ///< [K, M, M]
  torch::Tensor all_logits;  ///< [K, C, M, M], for the zero total of K = 0
};

SelectedMasks select_masks(const TensorMap& predictions, const TensorMap& targets, std::string_view loss) {
  const std::string name = "loss '" + std::string(loss) + "': ";
  const auto& logits = require_input(predictions, "mask_logits", Side::predictions, loss, kExpectedLogits);
  const auto& mask_targets = require_input(targets, "mask_targets", Side::targets, loss, kExpectedTargets);
  const auto& labels = require_input(targets, "labels", Side::targets, loss, kExpectedTargets);
  if (!logits.defined() || logits.dim() != 4 || !logits.is_floating_point() || logits.size(1) < 1) {
    throw ConfigError(name + "predictions 'mask_logits' must be floating [K, C, M, M] with C >= 1, got " +
                      described(logits));
  }
  const auto boxes = logits.size(0), num_classes = logits.size(1);
  const std::vector<std::int64_t> per_box = {boxes, logits.size(2), logits.size(3)};
  if (!mask_targets.defined() || !mask_targets.is_floating_point() || mask_targets.sizes() != per_box) {
    throw ConfigError(name + "targets 'mask_targets' must be floating " + c10::str(c10::IntArrayRef(per_box)) +
                      " (the shape of mask_logits " + c10::str(logits.sizes()) + " without the class axis), got " +
                      described(mask_targets));
  }
  if (!labels.defined() || labels.scalar_type() != torch::kLong || labels.dim() != 1 || labels.size(0) != boxes) {
    throw ConfigError(name + "targets 'labels' must be int64 [" + std::to_string(boxes) +
                      "], the class of each box of mask_logits " + c10::str(logits.sizes()) + ", got " +
                      described(labels));
  }
  if (boxes > 0) {
    // One trip to the host for the label range and the target range.
    const auto range = torch::stack({labels.min().to(torch::kDouble), labels.max().to(torch::kDouble),
                                     mask_targets.min().to(torch::kDouble), mask_targets.max().to(torch::kDouble)})
                           .cpu();
    const auto lowest = range[0].item<double>(), highest = range[1].item<double>();
    if (lowest < 0 || highest >= static_cast<double>(num_classes)) {
      const auto offender = static_cast<std::int64_t>(lowest < 0 ? lowest : highest);
      throw ConfigError(name + "targets 'labels' must be a class in [0, " + std::to_string(num_classes) + ") (" +
                        "mask_logits has " + std::to_string(num_classes) + " classes), got " +
                        std::to_string(offender) + "; pass only the boxes matched to an object, with its class");
    }
    const auto smallest = range[2].item<double>(), largest = range[3].item<double>();
    if (!(smallest >= 0.0 && largest <= 1.0)) {
      throw ConfigError(name + "targets 'mask_targets' must lie in [0, 1], got values in [" + shown(smallest) +
                        ", " + shown(largest) + "]; pass 0/1 masks (or their resampled fractions)");
    }
  }
  // Advanced indexing picks one channel per box, so the other classes' logits get no gradient.
  const auto selected = logits.index({torch::arange(boxes, labels.options()), labels});
  return {.logits = selected, .targets = mask_targets.to(logits.scalar_type()), .all_logits = logits};
}

void check_weight(double weight, std::string_view loss) {
  if (!(weight >= 0.0) || !std::isfinite(weight)) {
    fail_option("loss '" + std::string(loss) + "'", "weight", "a finite number >= 0", shown(weight));
  }
}

// K = 0: 0, but connected to every logit (and through them to the head's parameters).
torch::Tensor connected_zero(const torch::Tensor& logits) { return logits.sum() * 0; }

}  // namespace

MaskLossOptions MaskLossOptions::from(const Config& config) {
  MaskLossOptions options;
  read_arg(config, "weight", options.weight);
  return options;
}

MaskBceLoss::MaskBceLoss(MaskLossOptions options) : options_(options) { check_weight(options_.weight, "mask_bce"); }

LossOutput MaskBceLoss::forward(const TensorMap& predictions, const TensorMap& targets) {
  const auto masks = select_masks(predictions, targets, "mask_bce");
  if (masks.logits.size(0) == 0) return {.total = connected_zero(masks.all_logits), .terms = {}};
  const auto loss = torch::binary_cross_entropy_with_logits(masks.logits, masks.targets, {}, {}, at::Reduction::Mean);
  return {.total = loss * options_.weight, .terms = {}};
}

MaskDiceLoss::MaskDiceLoss(MaskLossOptions options) : options_(options) { check_weight(options_.weight, "mask_dice"); }

LossOutput MaskDiceLoss::forward(const TensorMap& predictions, const TensorMap& targets) {
  const auto masks = select_masks(predictions, targets, "mask_dice");
  if (masks.logits.size(0) == 0) return {.total = connected_zero(masks.all_logits), .terms = {}};
  // Smoothing 1 in numerator and denominator: an empty target predicted empty costs nothing, and no division by 0.
  const auto probabilities = torch::sigmoid(masks.logits).flatten(1);
  const auto target = masks.targets.flatten(1);
  const auto dice = (2 * (probabilities * target).sum(1) + 1) / (probabilities.sum(1) + target.sum(1) + 1);
  return {.total = (1 - dice).mean() * options_.weight, .terms = {}};
}

}  // namespace autotimm::detection_losses
