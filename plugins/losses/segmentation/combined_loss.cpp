#include "combined_loss.hpp"

#include <torch/torch.h>

#include "autotimm/model_args.hpp"
#include "cross_entropy_loss.hpp"
#include "dice_loss.hpp"
#include "inputs.hpp"

namespace autotimm::segmentation_losses {
namespace {

constexpr std::string_view kLoss = "segmentation_combined";

}  // namespace

CombinedSegmentationLossOptions CombinedSegmentationLossOptions::from(const Config& config) {
  CombinedSegmentationLossOptions options;
  read_arg(config, "ignore_index", options.ignore_index);
  read_arg(config, "class_weights", options.class_weights);
  read_arg(config, "ce_weight", options.ce_weight);
  read_arg(config, "dice_weight", options.dice_weight);
  return options;
}

CombinedSegmentationLoss::CombinedSegmentationLoss(CombinedSegmentationLossOptions options)
    : options_(std::move(options)) {
  check_per_class_option(options_.class_weights, kLoss, "class_weights");
  check_non_negative(options_.ce_weight, kLoss, "ce_weight");
  check_non_negative(options_.dice_weight, kLoss, "dice_weight");
}

LossOutput CombinedSegmentationLoss::forward(const TensorMap& predictions, const TensorMap& targets) {
  // One check of the inputs (one trip to the host) for both terms.
  const auto inputs = segmentation_inputs(predictions, targets, options_.ignore_index, kLoss);
  const auto class_weights = per_class_tensor(options_.class_weights, inputs, kLoss, "class_weights");
  const auto loss_ce = cross_entropy_term(inputs, class_weights, CrossEntropyLossOptions{}.label_smoothing);
  const auto loss_dice = dice_term(inputs, class_weights, DiceLossOptions{}.smooth);
  return {.total = options_.ce_weight * loss_ce + options_.dice_weight * loss_dice,
          .terms = {{"loss_ce", loss_ce}, {"loss_dice", loss_dice}}};
}

}  // namespace autotimm::segmentation_losses
