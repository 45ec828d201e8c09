#pragma once
// What the segmentation losses share (the semantic segmentation contract): reading logits [B, C, H, W] and labels
// [B, H, W] with messages that name the loss, the key and both shapes; the pixels that count (labels other than
// ignore_index); and the per-class pieces dice and tversky are made of.
//
// Ignored pixels count nowhere: their logits are replaced by a constant before any arithmetic, so that neither their
// values nor their gradients (not even a NaN) reach the loss, and their one-hot rows are all zero.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <torch/types.h>

#include "autotimm/loss.hpp"

namespace autotimm::segmentation_losses {

/// One call's inputs, checked.
struct SegmentationInputs {
  torch::Tensor logits;   ///< [B, C, H, W], ignored pixels set to 0 (cut from the caller's graph there)
  torch::Tensor counted;  ///< float [B, 1, H, W] of the logits' type: 1 where the label counts, 0 where ignored
  torch::Tensor one_hot;  ///< [B, C, H, W] of the logits' type: the label's class at counted pixels, all 0 elsewhere
  std::int64_t num_classes = 0;
};

/// predictions["logits"] and targets["labels"], checked (keys, types, shapes, label values) and prepared. A label
/// outside [0, C) that is not `ignore_index` is a ConfigError that names the value.
SegmentationInputs segmentation_inputs(const TensorMap& predictions, const TensorMap& targets,
                                       std::int64_t ignore_index, std::string_view loss);

/// "Float [2, 3, 4]": a tensor's type and shape as messages show them.
std::string described(const torch::Tensor& tensor);

/// Construction-time check of a number option (smooth, gamma, a term weight): ConfigError naming `field` unless
/// `value` is finite and >= 0.
void check_non_negative(double value, std::string_view loss, const std::string& field);

/// Construction-time check of a per-class option (class_weights, alpha): every value finite and >= 0, at least one
/// > 0. Empty passes (the option is unset).
void check_per_class_option(const std::vector<double>& values, std::string_view loss, const std::string& option);

/// `values` as a [C] tensor of the logits' type and device; an undefined tensor when empty. ConfigError naming
/// `option` when there is not one value per class.
torch::Tensor per_class_tensor(const std::vector<double>& values, const SegmentationInputs& inputs,
                               std::string_view loss, std::string_view option);

/// Sums over the batch and every counted pixel, per class, each [C].
struct ClassSums {
  torch::Tensor intersection;  ///< Σ p·g (true positives)
  torch::Tensor predicted;     ///< Σ p
  torch::Tensor target;        ///< Σ g (counted pixels labelled with the class)
};

/// The sums of the softmax probabilities of `inputs` against its one-hot labels.
ClassSums class_sums(const SegmentationInputs& inputs);

/// Mean of a per-class loss [C] over the classes with at least one counted target pixel, weighted by `weights` [C]
/// when defined: Σ w·l / Σ w over those classes. 0, still in the graph, when no class has a target pixel.
torch::Tensor mean_over_present_classes(const torch::Tensor& per_class, const ClassSums& sums,
                                        const torch::Tensor& weights);

/// numerator / denominator, or 0 (with a zero gradient, never NaN) where the denominator is 0: nothing counted.
torch::Tensor safe_divide(const torch::Tensor& numerator, const torch::Tensor& denominator);

}  // namespace autotimm::segmentation_losses
