#include "binary_cross_entropy.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "targets.hpp"

namespace autotimm::classification_losses {

BinaryCrossEntropyOptions BinaryCrossEntropyOptions::from(const Config& config) {
  BinaryCrossEntropyOptions options;
  read_arg(config, "label_smoothing", options.label_smoothing);
  read_arg(config, "pos_weight", options.pos_weight);
  read_arg(config, "weight", options.weight);
  return options;
}

BinaryCrossEntropyLoss::BinaryCrossEntropyLoss(BinaryCrossEntropyOptions options) : options_(std::move(options)) {
  if (!(options_.label_smoothing >= 0.0 && options_.label_smoothing < 1.0)) {
    throw ConfigError("loss 'bce': 'label_smoothing' must be in [0, 1), got " +
                      std::to_string(options_.label_smoothing));
  }
}

LossOutput BinaryCrossEntropyLoss::forward(const TensorMap& predictions, const TensorMap& targets) {
  const torch::Tensor logits = logits_of(predictions, "bce");
  torch::Tensor labels = labels_of(targets, logits, "bce");
  const auto num_classes = logits.size(1);
  if (!labels.is_floating_point()) {
    if (labels.numel() > 0 && (labels.min().item<std::int64_t>() < 0 ||
                               labels.max().item<std::int64_t>() >= num_classes)) {
      throw ConfigError("loss 'bce': class indices must be in [0, " + std::to_string(num_classes) + ")");
    }
    labels = torch::one_hot(labels, num_classes);
  }
  labels = labels.to(logits.scalar_type());
  if (options_.label_smoothing > 0.0) {
    labels = labels * (1.0 - options_.label_smoothing) + options_.label_smoothing / static_cast<double>(num_classes);
  }
  auto functional = torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions();
  if (auto pos = per_class_tensor(options_.pos_weight, num_classes, "bce", "pos_weight"); pos.defined()) {
    functional.pos_weight(pos.to(logits.options()));
  }
  if (auto weight = per_class_tensor(options_.weight, num_classes, "bce", "weight"); weight.defined()) {
    functional.weight(weight.to(logits.options()));
  }
  return {.total = torch::nn::functional::binary_cross_entropy_with_logits(logits, labels, functional), .terms = {}};
}

}  // namespace autotimm::classification_losses
