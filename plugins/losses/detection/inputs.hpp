#pragma once
// What the detection losses share: finding tensors in the maps a task passes, checking their shapes and label values,
// and reading a normaliser, with messages that name the loss, the key and both shapes.
#include <cstdint>
#include <string>
#include <string_view>

#include <torch/types.h>

#include "autotimm/loss.hpp"

namespace autotimm::detection_losses {

/// Label values of dense detection targets besides class indices (>= 0).
inline constexpr std::int64_t kBackgroundLabel = -1;  ///< a negative: every class target is 0
inline constexpr std::int64_t kIgnoredLabel = -2;     ///< no classification loss at all (a crowd region, ...)

/// Which map a tensor comes from, as messages name it.
enum class Side { predictions, targets };

/// map[key]; ConfigError naming the loss, the side and the key, then `expected` (what the loss reads from that side).
const torch::Tensor& require_input(const TensorMap& map, std::string_view key, Side side, std::string_view loss,
                                   std::string_view expected);

/// "Float [2, 3, 4]": a tensor's type and shape as messages show them.
std::string described(const torch::Tensor& tensor);

/// ConfigError unless every label is a class in [0, num_classes), kBackgroundLabel or kIgnoredLabel.
/// `classes_from` names the tensor the class count comes from ("cls_logits").
void check_labels(const torch::Tensor& labels, std::int64_t num_classes, std::string_view loss,
                  std::string_view classes_from);

/// targets[key] as a 0-dim tensor of `dtype`: a single number > 0 (checked on the host). `advice` ends the message.
torch::Tensor positive_normaliser(const torch::Tensor& value, std::string_view key, std::string_view loss,
                                  torch::ScalarType dtype, std::string_view advice);

}  // namespace autotimm::detection_losses
