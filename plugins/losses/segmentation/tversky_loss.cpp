#include "tversky_loss.hpp"

#include <torch/torch.h>

#include "autotimm/model_args.hpp"
#include "inputs.hpp"

namespace autotimm::segmentation_losses {
namespace {

constexpr std::string_view kLoss = "segmentation_tversky";

}  // namespace

TverskyLossOptions TverskyLossOptions::from(const Config& config) {
  TverskyLossOptions options;
  read_arg(config, "ignore_index", options.ignore_index);
  read_arg(config, "alpha", options.alpha);
  read_arg(config, "beta", options.beta);
  read_arg(config, "smooth", options.smooth);
  read_arg(config, "class_weights", options.class_weights);
  return options;
}

TverskyLoss::TverskyLoss(TverskyLossOptions options) : options_(std::move(options)) {
  check_non_negative(options_.alpha, kLoss, "alpha");
  check_non_negative(options_.beta, kLoss, "beta");
  check_non_negative(options_.smooth, kLoss, "smooth");
  check_per_class_option(options_.class_weights, kLoss, "class_weights");
}

LossOutput TverskyLoss::forward(const TensorMap& predictions, const TensorMap& targets) {
  const auto inputs = segmentation_inputs(predictions, targets, options_.ignore_index, kLoss);
  const auto sums = class_sums(inputs);
  // Over counted pixels Σ p·(1 − g) = Σ p − TP and Σ (1 − p)·g = Σ g − TP.
  const auto& true_positives = sums.intersection;
  const auto false_positives = sums.predicted - true_positives;
  const auto false_negatives = sums.target - true_positives;
  const auto per_class =
      1.0 - safe_divide(true_positives + options_.smooth,
                        true_positives + options_.alpha * false_positives + options_.beta * false_negatives +
                            options_.smooth);
  const auto loss = mean_over_present_classes(
      per_class, sums, per_class_tensor(options_.class_weights, inputs, kLoss, "class_weights"));
  return {.total = loss, .terms = {}};  // a single loss: the total is its only term, not repeated (loss.hpp)
}

}  // namespace autotimm::segmentation_losses
