#include "focal_loss.hpp"

#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/ops/focal_loss.hpp"
#include "inputs.hpp"

namespace autotimm::detection_losses {
namespace {

constexpr std::string_view kLoss = "sigmoid_focal";
constexpr std::string_view kExpectedTargets =
    "either labels int64 [...] (a class index, -1 background, -2 ignored) or targets [..., C] (floating, like the "
    "logits), and optionally normalizer (a single number)";

}  // namespace

SigmoidFocalLossOptions SigmoidFocalLossOptions::from(const Config& config) {
  SigmoidFocalLossOptions options;
  read_arg(config, "alpha", options.alpha);
  read_arg(config, "gamma", options.gamma);
  return options;
}

SigmoidFocalLoss::SigmoidFocalLoss(SigmoidFocalLossOptions options) : options_(options) {
  if (!std::isfinite(options_.alpha) || options_.alpha > 1.0) {
    fail_option("loss 'sigmoid_focal'", "alpha", "a weight in [0, 1], or a negative number to disable the weighting",
                shown(options_.alpha));
  }
  if (!(options_.gamma >= 0.0) || !std::isfinite(options_.gamma)) {
    fail_option("loss 'sigmoid_focal'", "gamma", "a finite number >= 0", shown(options_.gamma));
  }
}

LossOutput SigmoidFocalLoss::forward(const TensorMap& predictions, const TensorMap& targets) {
  const auto& logits = require_input(predictions, "logits", Side::predictions, kLoss, "logits [..., C]");
  if (!logits.defined() || logits.dim() < 1 || !logits.is_floating_point() || logits.size(-1) < 1) {
    throw ConfigError("loss 'sigmoid_focal': predictions 'logits' must be floating [..., C] with C >= 1, got " +
                      described(logits));
  }
  const bool has_labels = targets.count("labels") > 0, has_targets = targets.count("targets") > 0;
  if (has_labels && has_targets) {
    throw ConfigError("loss 'sigmoid_focal': the targets hold both 'labels' and 'targets'; give only one of them");
  }
  if (!has_labels && !has_targets) {
    throw ConfigError("loss 'sigmoid_focal': the targets have no 'labels' or 'targets'; expected " +
                      std::string(kExpectedTargets));
  }

  const auto num_classes = logits.size(-1);
  const ops::FocalLossOptions focal_options{.alpha = options_.alpha, .gamma = options_.gamma};
  torch::Tensor sum, count;
  if (has_labels) {
    const auto& labels = targets.at("labels");
    const auto per_location = logits.sizes().slice(0, logits.dim() - 1);
    if (!labels.defined() || labels.scalar_type() != torch::kLong || labels.sizes() != per_location) {
      throw ConfigError("loss 'sigmoid_focal': targets 'labels' must be int64 " + c10::str(per_location) +
                        " (the shape of logits " + c10::str(logits.sizes()) + " without the class axis), got " +
                        described(labels));
    }
    check_labels(labels, num_classes, kLoss, "logits");
    const auto positive = (labels >= 0).unsqueeze(-1).to(logits.scalar_type());
    const auto one_hot = torch::one_hot(labels.clamp_min(0), num_classes).to(logits.scalar_type()) * positive;
    const auto focal = ops::sigmoid_focal_loss(logits, one_hot, focal_options);
    // where(), not a product: an ignored logit contributes neither value nor gradient.
    const auto counted = labels != kIgnoredLabel;
    sum = torch::where(counted.unsqueeze(-1), focal, torch::zeros({}, focal.options())).sum();
    count = counted.sum().to(logits.scalar_type()) * static_cast<double>(num_classes);
  } else {
    const auto& soft = targets.at("targets");
    if (!soft.defined() || !soft.is_floating_point() || soft.sizes() != logits.sizes()) {
      throw ConfigError("loss 'sigmoid_focal': targets 'targets' must be floating " + c10::str(logits.sizes()) +
                        " like predictions 'logits', got " + described(soft));
    }
    sum = ops::sigmoid_focal_loss(logits, soft.to(logits.scalar_type()), focal_options).sum();
    count = torch::full({}, static_cast<double>(logits.numel()), logits.options().requires_grad(false));
  }
  if (const auto it = targets.find("normalizer"); it != targets.end()) {
    return {.total = sum / positive_normaliser(it->second, "normalizer", kLoss, logits.scalar_type(),
                                               "pass the number of positives, at least 1"),
            .terms = {}};
  }
  // Nothing counted (every location ignored): 0 rather than the NaN of an empty mean.
  return {.total = sum / count.clamp_min(1), .terms = {}};
}

}  // namespace autotimm::detection_losses
