#include "cross_entropy_loss.hpp"

#include <torch/torch.h>

#include "autotimm/model_args.hpp"

namespace autotimm::segmentation_losses {
namespace {

constexpr std::string_view kLoss = "segmentation_ce";

}  // namespace

CrossEntropyLossOptions CrossEntropyLossOptions::from(const Config& config) {
  CrossEntropyLossOptions options;
  read_arg(config, "ignore_index", options.ignore_index);
  read_arg(config, "class_weights", options.class_weights);
  read_arg(config, "label_smoothing", options.label_smoothing);
  return options;
}

torch::Tensor cross_entropy_term(const SegmentationInputs& inputs, const torch::Tensor& class_weights,
                                 double label_smoothing) {
  const auto log_probabilities = torch::log_softmax(inputs.logits, 1);
  // w broadcast over [B, C, H, W]; the one-hot rows pick w_y per pixel (0 at ignored pixels).
  const auto weights = class_weights.defined()
                           ? class_weights.view({1, -1, 1, 1})
                           : torch::ones({1, inputs.num_classes, 1, 1}, inputs.logits.options());
  const auto pixel_weights = (inputs.one_hot * weights).sum(1);
  const auto normaliser = pixel_weights.sum();
  const auto nll = -(inputs.one_hot * log_probabilities).sum(1);
  auto loss = safe_divide((pixel_weights * nll).sum(), normaliser);
  if (label_smoothing > 0.0) {
    // As torch: the uniform part is weighted per class and normalised by the same Σ w_y.
    const auto smooth = -(log_probabilities * weights * inputs.counted).sum();
    loss = (1.0 - label_smoothing) * loss +
           (label_smoothing / static_cast<double>(inputs.num_classes)) * safe_divide(smooth, normaliser);
  }
  return loss;
}

CrossEntropyLoss::CrossEntropyLoss(CrossEntropyLossOptions options) : options_(std::move(options)) {
  check_per_class_option(options_.class_weights, kLoss, "class_weights");
  if (!(options_.label_smoothing >= 0.0 && options_.label_smoothing < 1.0)) {
    fail_option("loss 'segmentation_ce'", "label_smoothing", "a number in [0, 1)", shown(options_.label_smoothing));
  }
}

LossOutput CrossEntropyLoss::forward(const TensorMap& predictions, const TensorMap& targets) {
  const auto inputs = segmentation_inputs(predictions, targets, options_.ignore_index, kLoss);
  const auto loss = cross_entropy_term(
      inputs, per_class_tensor(options_.class_weights, inputs, kLoss, "class_weights"), options_.label_smoothing);
  return {.total = loss, .terms = {}};  // a single loss: the total is its only term, not repeated (loss.hpp)
}

}  // namespace autotimm::segmentation_losses
