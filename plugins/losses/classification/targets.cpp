#include "targets.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"

namespace autotimm::classification_losses {

torch::Tensor logits_of(const TensorMap& predictions, std::string_view loss) {
  const auto it = predictions.find("logits");
  if (it == predictions.end()) {
    throw ConfigError("loss '" + std::string(loss) + "': the predictions have no 'logits'; a classification head " +
                      "must produce them");
  }
  const torch::Tensor& logits = it->second;
  if (logits.dim() != 2 || !logits.is_floating_point()) {
    throw ConfigError("loss '" + std::string(loss) + "': expected floating logits [N, C], got " +
                      std::string(c10::toString(logits.scalar_type())) + " " + c10::str(logits.sizes()));
  }
  return logits;
}

torch::Tensor labels_of(const TensorMap& targets, const torch::Tensor& logits, std::string_view loss) {
  const auto it = targets.find("labels");
  if (it == targets.end()) throw ConfigError("loss '" + std::string(loss) + "': the targets have no 'labels'");
  const torch::Tensor& labels = it->second;
  const auto n = logits.size(0), c = logits.size(1);
  if (labels.dim() == 1 && labels.scalar_type() == torch::kLong && labels.size(0) == n) return labels;
  if (labels.dim() == 2 && labels.is_floating_point() && labels.size(0) == n && labels.size(1) == c) return labels;
  throw ConfigError("loss '" + std::string(loss) + "': expected labels as int64 [" + std::to_string(n) +
                    "] class indices or floating [" + std::to_string(n) + ", " + std::to_string(c) +
                    "] targets for logits " + c10::str(logits.sizes()) + ", got " +
                    std::string(c10::toString(labels.scalar_type())) + " " + c10::str(labels.sizes()));
}

torch::Tensor per_class_tensor(const std::vector<double>& values, std::int64_t num_classes, std::string_view loss,
                               std::string_view option) {
  if (values.empty()) return {};
  if (static_cast<std::int64_t>(values.size()) != num_classes) {
    throw ConfigError("loss '" + std::string(loss) + "': '" + std::string(option) + "' has " +
                      std::to_string(values.size()) + " values, the logits have " + std::to_string(num_classes) +
                      " classes; give one value per class");
  }
  return torch::tensor(values, torch::kFloat32);
}

}  // namespace autotimm::classification_losses
