#pragma once
// The FCN segmentation head (torchvision's FCNHead, same key layout): on the last feature map it is given, a 3x3 conv
// (no bias) to `channels`, BatchNorm, ReLU, dropout, then a 1x1 conv with bias to num_classes. The children are
// named "0".."4" as torchvision's nn.Sequential numbers them, so its keys read "0.weight", "1.running_mean", ...,
// "4.weight", "4.bias".
//
//   auto head = std::make_shared<FCNHeadImpl>(FCNHeadOptions{.in_channels = 2048, .num_classes = 21});
//   auto logits = head->forward({layer4})[0];   // [N, 21, H, W]: the map's resolution
#include <cstdint>
#include <optional>
#include <vector>

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>

#include "autotimm/config.hpp"
#include "autotimm/head.hpp"
#include "autotimm/layers/batch_norm.hpp"

namespace autotimm::fcn {

struct FCNHeadOptions {
  std::int64_t in_channels = 0;               ///< required, > 0: channels of the last feature map
  std::int64_t num_classes = 0;               ///< required, > 0: channels of the logits
  std::optional<std::int64_t> channels = {};  ///< of the 3x3 conv; unset: in_channels / 4, as torchvision
  double dropout = 0.1;                       ///< before the classifier, in [0, 1); 0 disables

  /// From `{"in_channels" (required), "num_classes" (required), "channels", "dropout"}`; unknown keys are left to
  /// the caller's expect_all_used().
  static FCNHeadOptions from(const Config& config);
  /// `channels`, or its default in_channels / 4.
  std::int64_t resolved_channels() const { return channels.value_or(in_channels / 4); }
};

class FCNHeadImpl : public Head {
 public:
  explicit FCNHeadImpl(FCNHeadOptions options);
  /// features: one or more maps; only the last, [N, in_channels, H, W], is read (the deepest of a backbone's
  /// levels). Returns {logits [N, num_classes, H, W]}.
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& features) override;
  const FCNHeadOptions& options() const noexcept { return options_; }

  torch::nn::Conv2d conv{nullptr};        ///< "0"
  layers::BatchNorm2d bn{nullptr};        ///< "1"
  torch::nn::Dropout dropout{nullptr};    ///< "3" (after the ReLU "2")
  torch::nn::Conv2d classifier{nullptr};  ///< "4"

 private:
  FCNHeadOptions options_;
};

}  // namespace autotimm::fcn
