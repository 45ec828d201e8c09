#pragma once
// Making a trained model cheaper to run without changing its outputs: batch norm folded into the convolution before
// it, and channels-last memory for oneDNN's convolutions.
//
//   model->eval();
//   const auto folded = autotimm::fold_batch_norm(*model);   // ImageClassifier, ObjectDetector, ..., Backbone
//   autotimm::to_channels_last(*model);
//   auto logits = model->forward(images.contiguous(at::MemoryFormat::ChannelsLast));
//
// Folding: in eval mode a BatchNorm is y = (x - mean) / sqrt(var + eps) · gamma + beta, a per-channel affine map, so
// after a convolution it becomes the convolution's weight scaled per output channel plus a bias. The convolution
// feeding each BatchNorm is found from the model's own computation, not from module names: one probe forward with
// autograd records each layers::BatchNorm2d's input (layers::BatchNormInputCapture), and a BatchNorm is folded only
// when that input is, as it is, the output of a convolution (its autograd node) whose weight belongs to a
// torch::nn::Conv2dImpl of the model, used once in the forward, with no other consumer of its output.
#include <torch/nn/module.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"

namespace autotimm {

struct BatchNormFoldOptions {
  /// The probe input [N, 3, H, W] (random normal): its size must suit the model (a detector's strides, a ViT's
  /// image size). Two images, so nothing reduces to a single value by accident.
  std::vector<std::int64_t> probe_shape = {2, 3, 64, 64};
  /// The folded model's outputs must equal the unfolded ones on the probe within tolerance · max(1, max |output|);
  /// otherwise everything is undone and a ConfigError says by how much they differed.
  double tolerance = 1e-4;
  /// Runs the model on images and returns its outputs. Unset: the model's own forward, for an ImageClassifier,
  /// ObjectDetector (InstanceSegmentor), SemanticSegmentor or Backbone; any other module needs one.
  std::function<std::vector<at::Tensor>(const at::Tensor&)> forward = {};
};

struct BatchNormFoldReport {
  std::int64_t folded = 0;          ///< BatchNorms folded into their convolution
  std::int64_t batch_norms = 0;     ///< layers::BatchNorm2d modules of the model
  std::vector<std::string> kept = {};  ///< the ones left as they are, each "name: why"
  double max_difference = 0.0;      ///< between the folded and the unfolded outputs on the probe
};

/// Folds every layers::BatchNorm2d (timm's BatchNormAct2d and conv-bn-act blocks included) whose input is a
/// convolution's output into that convolution: its weight scaled per output channel, a bias added (registered as
/// the "bias" parameter of a bias-free convolution), and the BatchNorm set to pass its input through. Eval mode only
/// (ConfigError in training mode). The folded model is for inference: its state dict now has convolution biases and
/// unused BatchNorm entries; reload the checkpoint to train or save. A BatchNorm whose input is not a convolution's
/// output (after a pooling, a concatenation, a residual sum) or whose convolution's output is used elsewhere too is
/// kept, and said why in the report. Folding twice is harmless: the folded ones are skipped.
AUTOTIMM_API BatchNormFoldReport fold_batch_norm(torch::nn::Module& model, const BatchNormFoldOptions& options = {});

/// Every 4-D parameter and buffer of `module` (convolution weights) in channels-last memory: oneDNN's convolutions
/// then skip reordering inputs given channels-last too (at::Tensor::contiguous(at::MemoryFormat::ChannelsLast)).
/// Values are unchanged. Returns how many tensors were converted.
AUTOTIMM_API std::int64_t to_channels_last(torch::nn::Module& module);

}  // namespace autotimm
