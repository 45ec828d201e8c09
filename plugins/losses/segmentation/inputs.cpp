#include "inputs.hpp"

#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"

namespace autotimm::segmentation_losses {
namespace {

const torch::Tensor& require_input(const TensorMap& map, const std::string& key, bool is_prediction,
                                   std::string_view loss) {
  const auto it = map.find(key);
  if (it == map.end()) {
    throw ConfigError("loss '" + std::string(loss) + "': the " + (is_prediction ? "predictions" : "targets") +
                      " have no '" + key +
                      "'; expected predictions logits [B, C, H, W] (floating) and targets labels [B, H, W] (int64)");
  }
  return it->second;
}

// ConfigError naming the first label that is neither a class of the logits nor ignore_index. The common case (every
// label valid) costs one trip to the host.
void check_labels(const torch::Tensor& labels, std::int64_t num_classes, std::int64_t ignore_index,
                  std::string_view loss) {
  const auto invalid = (labels != ignore_index).logical_and(labels.lt(0).logical_or(labels.ge(num_classes)));
  if (!invalid.any().item<bool>()) return;
  const auto offender = labels.masked_select(invalid)[0].item<std::int64_t>();
  throw ConfigError("loss '" + std::string(loss) + "': targets 'labels' must be a class in [0, " +
                    std::to_string(num_classes) + ") or ignore_index " + std::to_string(ignore_index) + ", got " +
                    std::to_string(offender) + " (logits have " + std::to_string(num_classes) +
                    " classes); check the dataset's class count and its ignore value");
}

}  // namespace

std::string described(const torch::Tensor& tensor) {
  if (!tensor.defined()) return "an undefined tensor";
  return std::string(c10::toString(tensor.scalar_type())) + " " + c10::str(tensor.sizes());
}

SegmentationInputs segmentation_inputs(const TensorMap& predictions, const TensorMap& targets,
                                       std::int64_t ignore_index, std::string_view loss) {
  const auto& logits = require_input(predictions, "logits", true, loss);
  const auto& labels = require_input(targets, "labels", false, loss);
  if (!logits.defined() || logits.dim() != 4 || !logits.is_floating_point() || logits.size(1) < 1) {
    throw ConfigError("loss '" + std::string(loss) +
                      "': predictions 'logits' must be floating [B, C, H, W] with C >= 1, got " + described(logits));
  }
  const auto b = logits.size(0), c = logits.size(1), h = logits.size(2), w = logits.size(3);
  if (!labels.defined() || labels.scalar_type() != torch::kLong || labels.sizes() != c10::IntArrayRef({b, h, w})) {
    throw ConfigError("loss '" + std::string(loss) + "': targets 'labels' must be int64 " +
                      c10::str(c10::IntArrayRef({b, h, w})) + " to match logits " + c10::str(logits.sizes()) +
                      ", got " + described(labels) + "; upsample the logits to the label size first");
  }
  if (labels.device() != logits.device()) {
    throw ConfigError("loss '" + std::string(loss) + "': targets 'labels' are on " + labels.device().str() +
                      ", predictions 'logits' on " + logits.device().str() + "; move both to one device");
  }
  check_labels(labels, c, ignore_index, loss);

  SegmentationInputs inputs;
  inputs.num_classes = c;
  const auto counted = (labels != ignore_index).unsqueeze(1);
  // where(), not a product: an ignored pixel's logits, however large, reach neither the values nor the gradients.
  inputs.logits = torch::where(counted, logits, torch::zeros({}, logits.options()));
  inputs.counted = counted.to(logits.scalar_type());
  inputs.one_hot = torch::one_hot(torch::where(counted.squeeze(1), labels, torch::zeros({}, labels.options())), c)
                       .permute({0, 3, 1, 2})
                       .to(logits.scalar_type()) *
                   inputs.counted;
  return inputs;
}

void check_non_negative(double value, std::string_view loss, const std::string& field) {
  if (!(value >= 0.0) || !std::isfinite(value)) {
    fail_option("loss '" + std::string(loss) + "'", field, "a finite number >= 0", shown(value));
  }
}

void check_per_class_option(const std::vector<double>& values, std::string_view loss, const std::string& option) {
  if (values.empty()) return;
  bool any_positive = false;
  for (const double value : values) {
    if (!(value >= 0.0) || !std::isfinite(value)) {
      fail_option("loss '" + std::string(loss) + "'", option, "one finite number >= 0 per class", shown(values));
    }
    any_positive = any_positive || value > 0.0;
  }
  if (!any_positive) {
    fail_option("loss '" + std::string(loss) + "'", option, "at least one value > 0", shown(values),
                "all zero would make the loss 0 whatever the predictions; leave the option out for equal weights");
  }
}

torch::Tensor per_class_tensor(const std::vector<double>& values, const SegmentationInputs& inputs,
                               std::string_view loss, std::string_view option) {
  if (values.empty()) return {};
  if (static_cast<std::int64_t>(values.size()) != inputs.num_classes) {
    throw ConfigError("loss '" + std::string(loss) + "': option '" + std::string(option) + "' has " +
                      std::to_string(values.size()) + " values, the logits have " +
                      std::to_string(inputs.num_classes) + " classes; give one value per class");
  }
  return torch::tensor(values, torch::kDouble).to(inputs.logits.options());
}

ClassSums class_sums(const SegmentationInputs& inputs) {
  const auto probabilities = torch::softmax(inputs.logits, 1) * inputs.counted;
  const std::vector<std::int64_t> all_but_classes = {0, 2, 3};
  return {.intersection = (probabilities * inputs.one_hot).sum(all_but_classes),
          .predicted = probabilities.sum(all_but_classes),
          .target = inputs.one_hot.sum(all_but_classes)};
}

torch::Tensor mean_over_present_classes(const torch::Tensor& per_class, const ClassSums& sums,
                                        const torch::Tensor& weights) {
  auto present = (sums.target > 0).to(per_class.scalar_type());
  if (weights.defined()) present = present * weights;
  return safe_divide((per_class * present).sum(), present.sum());
}

torch::Tensor safe_divide(const torch::Tensor& numerator, const torch::Tensor& denominator) {
  // Dividing by 1 where the denominator is 0 keeps the unselected quotient finite, so that its gradient is 0, not the
  // 0 · ∞ = NaN that dividing by 0 would give.
  const auto positive = denominator > 0;
  const auto quotient = numerator / torch::where(positive, denominator, torch::ones({}, denominator.options()));
  return torch::where(positive, quotient, torch::zeros({}, quotient.options()));
}

}  // namespace autotimm::segmentation_losses
