#pragma once
// The DeepLabV3+ segmentation head (Chen et al. 2018, "Encoder-Decoder with Atrous Separable Convolution"):
// torchvision's ASPP on the deepest map, then a decoder that brings in the stride-4 map. The ASPP keeps torchvision's
// module names and key layout ("aspp.convs.{i}", "aspp.project"), so its weights are recognisable:
//   - aspp.convs.0: 1x1 conv-BN-ReLU; aspp.convs.1..R: one 3x3 conv-BN-ReLU per rate, dilation = padding = rate;
//     aspp.convs.R+1: image pooling (global average pool, 1x1 conv-BN-ReLU, bilinear upsampling to the map's size);
//   - aspp.project: concat of the branches, 1x1 conv-BN-ReLU, dropout.
// Decoder: the ASPP output is upsampled bilinearly (align_corners false) to the low map's size and concatenated
// (ASPP channels first: implementations differ, and the decoder's first weight depends on it) with
// low_level_project(low), a 1x1 conv-BN-ReLU to low_level_channels; "decoder" runs two 3x3 conv-BN-ReLU of
// decoder_channels; "classifier" is a 1x1 conv with bias to num_classes. Convs followed by BN have no bias.
//
// Image pooling with one value per channel: in training a batch of one sample gives the pooling branch's BatchNorm a
// single value per channel (torchvision raises there, and ATen's raw batch_norm would normalise to a constant and
// write NaN into running_var). The branch then normalises with its running statistics and leaves them untouched, as
// in eval; gradients still reach its conv and BN affine parameters. Batches of two or more, and any batch under a
// multi-rank SyncBatchNormScope (the statistics span the ranks), use batch statistics exactly as torchvision.
//
//   auto head = std::make_shared<DeepLabV3PlusHeadImpl>(
//       DeepLabV3PlusHeadOptions{.in_channels = {256, 2048}, .num_classes = 21});
//   auto logits = head->forward({layer1, layer4})[0];   // [N, 21, H_low, W_low]
#include <cstdint>
#include <vector>

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>

#include "autotimm/config.hpp"
#include "autotimm/head.hpp"
#include "autotimm/layers/batch_norm.hpp"

namespace autotimm::deeplabv3plus {

struct DeepLabV3PlusHeadOptions {
  std::vector<std::int64_t> in_channels = {};        ///< required: [low (stride 4), high (the deepest map)]
  std::int64_t num_classes = 0;                      ///< required, > 0: channels of the logits
  std::int64_t aspp_channels = 256;                  ///< channels of every ASPP branch and of its projection
  std::vector<std::int64_t> aspp_rates = {6, 12, 18};  ///< dilation of each 3x3 ASPP branch (may be empty)
  std::int64_t low_level_channels = 48;              ///< channels of the low map's 1x1 projection
  std::int64_t decoder_channels = 256;               ///< channels of the decoder's two 3x3 convs
  double dropout = 0.1;  ///< after the ASPP projection, in [0, 1); 0 disables (torchvision uses 0.5 there, the
                         ///< official DeepLab 0.1)

  /// From `{"in_channels" (required), "num_classes" (required), "aspp_channels", "aspp_rates",
  /// "low_level_channels", "decoder_channels", "dropout"}`; unknown keys are left to the caller's expect_all_used().
  static DeepLabV3PlusHeadOptions from(const Config& config);
};

/// torchvision's ASPPPooling: children "0" (adaptive average pool to 1x1), "1" (1x1 conv), "2" (BN), "3" (ReLU),
/// then bilinear upsampling of the 1x1 result to the input's size. See the file comment for batches of one.
class ASPPPoolingImpl : public torch::nn::Module {
 public:
  ASPPPoolingImpl(std::int64_t in_channels, std::int64_t out_channels);
  /// [N, in, H, W] → [N, out, H, W], constant over H and W.
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::AdaptiveAvgPool2d pool{nullptr};
  torch::nn::Conv2d conv{nullptr};
  layers::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(ASPPPooling);

/// torchvision's ASPP: the branches in `convs`, concatenated, through `project`.
class ASPPImpl : public torch::nn::Module {
 public:
  ASPPImpl(std::int64_t in_channels, std::int64_t out_channels, const std::vector<std::int64_t>& rates, double dropout);
  /// [N, in, H, W] → [N, out, H, W].
  torch::Tensor forward(const torch::Tensor& x);

  /// Branch `i` of convs (a conv-BN-ReLU Sequential): 0 is the 1x1 branch, 1 + r the branch of aspp_rates[r].
  torch::nn::Sequential branch(std::size_t i) const { return branches_.at(i); }

  torch::nn::ModuleList convs{nullptr};
  ASPPPooling pooling{nullptr};            ///< the last entry of convs
  torch::nn::Sequential project{nullptr};  ///< 0 conv, 1 BN, 2 ReLU, 3 Dropout

 private:
  std::vector<torch::nn::Sequential> branches_;  // the same modules as in convs, typed
};
TORCH_MODULE(ASPP);

class DeepLabV3PlusHeadImpl : public Head {
 public:
  explicit DeepLabV3PlusHeadImpl(DeepLabV3PlusHeadOptions options);
  /// features: exactly {low [N, in_channels[0], H, W], high [N, in_channels[1], h, w]}.
  /// Returns {logits [N, num_classes, H, W]} at the low map's resolution.
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& features) override;
  const DeepLabV3PlusHeadOptions& options() const noexcept { return options_; }

  ASPP aspp{nullptr};
  torch::nn::Sequential low_level_project{nullptr};  ///< 0 conv 1x1, 1 BN, 2 ReLU
  torch::nn::Sequential decoder{nullptr};            ///< 0 conv 3x3, 1 BN, 2 ReLU, 3 conv 3x3, 4 BN, 5 ReLU
  torch::nn::Conv2d classifier{nullptr};

 private:
  DeepLabV3PlusHeadOptions options_;
};

}  // namespace autotimm::deeplabv3plus
