#include "cross_entropy.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "targets.hpp"

namespace autotimm::classification_losses {

CrossEntropyOptions CrossEntropyOptions::from(const Config& config) {
  CrossEntropyOptions options;
  read_arg(config, "label_smoothing", options.label_smoothing);
  read_arg(config, "weight", options.weight);
  read_arg(config, "ignore_index", options.ignore_index);
  return options;
}

CrossEntropyLoss::CrossEntropyLoss(CrossEntropyOptions options) : options_(std::move(options)) {
  if (!(options_.label_smoothing >= 0.0 && options_.label_smoothing < 1.0)) {
    throw ConfigError("loss 'ce': 'label_smoothing' must be in [0, 1), got " + std::to_string(options_.label_smoothing));
  }
  for (double w : options_.weight) {
    if (!(w >= 0.0)) throw ConfigError("loss 'ce': class weights must be >= 0, got " + std::to_string(w));
  }
}

LossOutput CrossEntropyLoss::forward(const TensorMap& predictions, const TensorMap& targets) {
  const torch::Tensor logits = logits_of(predictions, "ce");
  const torch::Tensor labels = labels_of(targets, logits, "ce");
  auto functional = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(options_.label_smoothing);
  // Probability targets have nothing to ignore (libtorch refuses a non-default ignore_index with them).
  if (!labels.is_floating_point()) functional.ignore_index(options_.ignore_index);
  if (auto weight = per_class_tensor(options_.weight, logits.size(1), "ce", "weight"); weight.defined()) {
    functional.weight(weight.to(logits.options()));
  }
  const torch::Tensor target = labels.is_floating_point() ? labels.to(logits.scalar_type()) : labels;
  return {.total = torch::nn::functional::cross_entropy(logits, target, functional), .terms = {}};
}

}  // namespace autotimm::classification_losses
