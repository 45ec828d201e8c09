#pragma once
// What the classification losses share: finding the logits and targets in the maps a task passes, with messages that
// say which key or shape is wrong.
#include <string_view>

#include <torch/types.h>

#include "autotimm/loss.hpp"

namespace autotimm::classification_losses {

/// predictions["logits"], which must be [N, C] floating.
torch::Tensor logits_of(const TensorMap& predictions, std::string_view loss);
/// targets["labels"]: int64 [N] class indices or floating [N, C] per-class targets, checked against `logits`.
torch::Tensor labels_of(const TensorMap& targets, const torch::Tensor& logits, std::string_view loss);
/// A per-class vector option (class weights) as a float tensor of C values; empty options give an undefined tensor.
torch::Tensor per_class_tensor(const std::vector<double>& values, std::int64_t num_classes, std::string_view loss,
                               std::string_view option);

}  // namespace autotimm::classification_losses
