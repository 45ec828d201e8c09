#include "dice_loss.hpp"

#include <torch/torch.h>

#include "autotimm/model_args.hpp"

namespace autotimm::segmentation_losses {
namespace {

constexpr std::string_view kLoss = "segmentation_dice";

}  // namespace

DiceLossOptions DiceLossOptions::from(const Config& config) {
  DiceLossOptions options;
  read_arg(config, "ignore_index", options.ignore_index);
  read_arg(config, "smooth", options.smooth);
  read_arg(config, "class_weights", options.class_weights);
  return options;
}

torch::Tensor dice_term(const SegmentationInputs& inputs, const torch::Tensor& class_weights, double smooth) {
  const auto sums = class_sums(inputs);
  const auto per_class =
      1.0 - safe_divide(2.0 * sums.intersection + smooth, sums.predicted + sums.target + smooth);
  return mean_over_present_classes(per_class, sums, class_weights);
}

DiceLoss::DiceLoss(DiceLossOptions options) : options_(std::move(options)) {
  check_non_negative(options_.smooth, kLoss, "smooth");
  check_per_class_option(options_.class_weights, kLoss, "class_weights");
}

LossOutput DiceLoss::forward(const TensorMap& predictions, const TensorMap& targets) {
  const auto inputs = segmentation_inputs(predictions, targets, options_.ignore_index, kLoss);
  const auto loss =
      dice_term(inputs, per_class_tensor(options_.class_weights, inputs, kLoss, "class_weights"), options_.smooth);
  return {.total = loss, .terms = {}};  // a single loss: the total is its only term, not repeated (loss.hpp)
}

}  // namespace autotimm::segmentation_losses
