#pragma once
// The FCOS detection head (torchvision's FCOSHead, same module names, plus FCOS's learnable per-level scales). Two
// towers of num_convs x (3x3 conv, GroupNorm, ReLU), shared across pyramid levels, feed the per-location predictions:
// class logits from the classification tower, box distances and centerness from the regression tower (centerness
// from the classification tower with centerness_on_reg = false, as the original FCOS).
//
//   auto head = std::make_shared<FCOSHeadImpl>(FCOSHeadOptions{.num_classes = 80});
//   auto out = head->forward({p3, p4, p5, p6, p7});
//   // out[3 * l + 0]: class logits    [N, 80, H_l, W_l]
//   // out[3 * l + 1]: box distances   [N, 4, H_l, W_l]  (left, top, right, bottom) in input pixels, >= 0
//   // out[3 * l + 2]: centerness logit [N, 1, H_l, W_l]
#include <cstdint>
#include <vector>

#include <torch/nn/modules/container/parameterlist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include "autotimm/config.hpp"
#include "autotimm/head.hpp"

namespace autotimm::fcos {

struct FCOSHeadOptions {
  std::int64_t in_channels = 256;   ///< channels of every pyramid level (the neck's out_channels)
  std::int64_t num_classes = 0;     ///< required, > 0; no background class (sigmoid logits)
  std::int64_t num_convs = 4;       ///< conv-GroupNorm-ReLU blocks in each tower (0: predictions on the input)
  std::vector<std::int64_t> strides = {8, 16, 32, 64, 128};  ///< one per level, in input pixels; forward checks the
                                                             ///< number of maps against it
  double prior_prob = 0.01;         ///< initial foreground probability of every logit, in (0, 1)
  std::int64_t num_groups = 32;     ///< GroupNorm groups; must divide in_channels
  bool centerness_on_reg = true;    ///< centerness on the regression tower (torchvision), else the classification one

  /// From `{"in_channels", "num_classes" (required), "num_convs", "strides", "prior_prob", "num_groups",
  /// "centerness_on_reg"}`; unknown keys are left to the caller's expect_all_used().
  static FCOSHeadOptions from(const Config& config);
};

/// torchvision's FCOSClassificationHead: the tower (`conv`) and `cls_logits`.
class FCOSClassificationHeadImpl : public torch::nn::Module {
 public:
  explicit FCOSClassificationHeadImpl(const FCOSHeadOptions& options);
  /// The tower's output for one level (the input itself when num_convs is 0).
  torch::Tensor tower(const torch::Tensor& x);

  torch::nn::Sequential conv{nullptr};
  torch::nn::Conv2d cls_logits{nullptr};
};
TORCH_MODULE(FCOSClassificationHead);

/// torchvision's FCOSRegressionHead: the tower (`conv`), `bbox_reg` (4 raw distances) and `bbox_ctrness`.
class FCOSRegressionHeadImpl : public torch::nn::Module {
 public:
  explicit FCOSRegressionHeadImpl(const FCOSHeadOptions& options);
  torch::Tensor tower(const torch::Tensor& x);

  torch::nn::Sequential conv{nullptr};
  torch::nn::Conv2d bbox_reg{nullptr};
  torch::nn::Conv2d bbox_ctrness{nullptr};  ///< keeps this name when centerness_on_reg is false; only its input moves
};
TORCH_MODULE(FCOSRegressionHead);

class FCOSHeadImpl : public Head {
 public:
  explicit FCOSHeadImpl(FCOSHeadOptions options);
  /// features: one map per stride, finest first, each [N, in_channels, H_l, W_l]. Returns 3 tensors per level,
  /// level by level: class logits, box distances relu(scales[l] * bbox_reg) * strides[l], centerness logits.
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& features) override;
  const FCOSHeadOptions& options() const noexcept { return options_; }

  FCOSClassificationHead classification_head{nullptr};
  FCOSRegressionHead regression_head{nullptr};
  /// One learnable scale per level ("scales.{l}", shape [1], initialised to 1), applied to the raw distances.
  torch::nn::ParameterList scales{nullptr};

 private:
  FCOSHeadOptions options_;
};

}  // namespace autotimm::fcos
