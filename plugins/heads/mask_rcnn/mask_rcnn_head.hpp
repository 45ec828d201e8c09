#pragma once
// The Mask R-CNN mask branch (torchvision's MaskRCNNHeads followed by MaskRCNNPredictor, same key layout): on the
// RoIAlign features of K boxes, num_convs 3x3 convs (each Conv2dNormActivation: conv, optional norm, ReLU), a 2x2
// stride-2 transposed conv that doubles the resolution, ReLU, and a 1x1 conv to one mask logit map per class.
// Keys: "mask_head.<i>.0.weight" (and ".bias" when there is no norm), "mask_head.<i>.1.*" (the norm, when there is
// one), "mask_predictor.conv5_mask.{weight,bias}", "mask_predictor.mask_fcn_logits.{weight,bias}". A torchvision
// Mask R-CNN's "roi_heads.mask_head.*" and "roi_heads.mask_predictor.*" keys map onto them by dropping "roi_heads.".
//
//   auto head = std::make_shared<MaskRCNNHeadImpl>(MaskRCNNHeadOptions{.in_channels = 256, .num_classes = 81});
//   auto logits = head->forward({roi_features})[0];   // [K, 256, 14, 14] -> [K, 81, 28, 28]
#include <cstdint>
#include <string_view>
#include <vector>

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>

#include "autotimm/config.hpp"
#include "autotimm/head.hpp"

namespace autotimm::mask_rcnn {

/// The normalisation after each mask_head conv ("norm"): torchvision's norm_layer argument of MaskRCNNHeads.
enum class MaskHeadNorm {
  none,  ///< conv with bias, then ReLU (torchvision's maskrcnn_resnet50_fpn)
  bn,    ///< conv without bias, autotimm::layers::BatchNorm2d, ReLU (maskrcnn_resnet50_fpn_v2)
  gn,    ///< conv without bias, GroupNorm with group_norm_groups(channels) groups, ReLU
};

/// The option value naming `norm` ("none", "bn", "gn").
std::string_view norm_name(MaskHeadNorm norm);

/// Groups of the "gn" norm: 32 when they divide `channels` (Detectron's and mmdet's GN(32)), otherwise the largest
/// divisor of `channels` below 32, so that any channel count works (48 -> 24, 20 -> 20, 7 -> 7).
std::int64_t group_norm_groups(std::int64_t channels);

struct MaskRCNNHeadOptions {
  std::int64_t in_channels = 0;             ///< required, > 0: channels of the RoI features (the FPN's out_channels)
  std::int64_t num_classes = 0;             ///< required, > 0: mask logit maps, one per class (background included)
  std::int64_t channels = 256;              ///< of every mask_head conv and of conv5_mask, as torchvision
  std::int64_t num_convs = 4;               ///< 3x3 convs in mask_head, >= 0 (0: conv5_mask reads the features)
  std::int64_t dilation = 1;                ///< of the 3x3 convs, >= 1; padding equals it, so S is kept
  MaskHeadNorm norm = MaskHeadNorm::none;   ///< after each 3x3 conv

  /// From `{"in_channels" (required), "num_classes" (required), "channels", "num_convs", "dilation", "norm"}`;
  /// unknown keys are left to the caller's expect_all_used().
  static MaskRCNNHeadOptions from(const Config& config);
};

class MaskRCNNHeadImpl : public Head {
 public:
  explicit MaskRCNNHeadImpl(MaskRCNNHeadOptions options);
  /// features: exactly one tensor, the RoIAlign features [K, in_channels, S, S] of K boxes (K may be 0).
  /// Returns {mask logits [K, num_classes, 2S, 2S]}: a map per class, the task reads the one of each box's class.
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& features) override;
  const MaskRCNNHeadOptions& options() const noexcept { return options_; }

  /// "mask_head": block i is "mask_head.<i>", a Sequential of the conv "0", the norm "1" (if any) and the ReLU.
  torch::nn::ModuleList mask_head{nullptr};
  /// "mask_predictor": "conv5_mask" (ConvTranspose2d 2x2, stride 2), "relu", "mask_fcn_logits" (1x1 conv).
  torch::nn::Sequential mask_predictor{nullptr};

 private:
  MaskRCNNHeadOptions options_;
  std::vector<torch::nn::Sequential> blocks_;  ///< mask_head's children, typed for forward
};

}  // namespace autotimm::mask_rcnn
