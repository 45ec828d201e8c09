#include "inputs.hpp"

#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"

namespace autotimm::detection_losses {

const torch::Tensor& require_input(const TensorMap& map, std::string_view key, Side side, std::string_view loss,
                                   std::string_view expected) {
  const auto it = map.find(std::string(key));
  if (it == map.end()) {
    throw ConfigError("loss '" + std::string(loss) + "': the " +
                      (side == Side::predictions ? "predictions" : "targets") + " have no '" + std::string(key) +
                      "'; expected " + std::string(expected));
  }
  return it->second;
}

std::string described(const torch::Tensor& tensor) {
  if (!tensor.defined()) return "an undefined tensor";
  return std::string(c10::toString(tensor.scalar_type())) + " " + c10::str(tensor.sizes());
}

void check_labels(const torch::Tensor& labels, std::int64_t num_classes, std::string_view loss,
                  std::string_view classes_from) {
  if (labels.numel() == 0) return;
  // One trip to the host for both ends of the range.
  const auto range = torch::stack({labels.min(), labels.max()}).cpu();
  const auto lowest = range[0].item<std::int64_t>(), highest = range[1].item<std::int64_t>();
  if (lowest >= kIgnoredLabel && highest < num_classes) return;
  const auto offender = highest >= num_classes ? highest : lowest;
  throw ConfigError("loss '" + std::string(loss) + "': targets 'labels' must be a class in [0, " +
                    std::to_string(num_classes) + "), -1 (background) or -2 (ignored), got " +
                    std::to_string(offender) + " (" + std::string(classes_from) + " has " +
                    std::to_string(num_classes) + " classes)");
}

torch::Tensor positive_normaliser(const torch::Tensor& value, std::string_view key, std::string_view loss,
                                  torch::ScalarType dtype, std::string_view advice) {
  const std::string subject = "loss '" + std::string(loss) + "': targets '" + std::string(key) + "'";
  if (!value.defined() || value.numel() != 1) {
    throw ConfigError(subject + " must be a single number, got " + described(value));
  }
  const double number = value.detach().to(torch::kDouble).cpu().item<double>();
  if (!(number > 0.0) || !std::isfinite(number)) {
    throw ConfigError(subject + " must be a finite number > 0, got " + shown(number) + "; " + std::string(advice));
  }
  return value.detach().reshape({}).to(dtype);
}

}  // namespace autotimm::detection_losses
