#pragma once
// The feature pyramid neck of the FCOS detector (torchvision's FeaturePyramidNetwork with LastLevelP6P7, same module
// names so its weights are recognisable). Each input level gets a 1x1 lateral conv; from the coarsest level down,
// the running map is upsampled (nearest, to the finer level's exact size) and added to the next lateral; a 3x3 conv
// then smooths every level. Extra levels come from the P5 output: P6 = p6(P5), P7 = p7(relu(P6)).
//
//   auto fpn = std::make_shared<FeaturePyramidNetworkImpl>(FeaturePyramidNetworkOptions{.in_channels = {128, 256, 512}});
//   auto pyramid = fpn->forward({c3, c4, c5});   // {P3, P4, P5, P6, P7}, each [N, 256, H_l, W_l]
#include <cstdint>
#include <vector>

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>

#include "autotimm/config.hpp"
#include "autotimm/head.hpp"

namespace autotimm::fpn {

struct FeaturePyramidNetworkOptions {
  std::vector<std::int64_t> in_channels = {};  ///< channels of each input level, finest first (C3, C4, C5)
  std::int64_t out_channels = 256;             ///< channels of every output level
  std::int64_t num_extra_levels = 2;           ///< levels added above the last input: 0, 1 (P6) or 2 (P6, P7)

  /// From `{"in_channels" (required), "out_channels", "num_extra_levels"}`; unknown keys are left to the caller's
  /// expect_all_used().
  static FeaturePyramidNetworkOptions from(const Config& config);
};

/// torchvision's LastLevelP6P7 on the P5 output: both 3x3 stride-2 convs over out_channels.
class LastLevelP6P7Impl : public torch::nn::Module {
 public:
  LastLevelP6P7Impl(std::int64_t channels, std::int64_t num_levels);
  /// Appends P6 (and P7) computed from `pyramid.back()`.
  void extend(std::vector<torch::Tensor>& pyramid);

  torch::nn::Conv2d p6{nullptr};
  torch::nn::Conv2d p7{nullptr};  ///< null when only P6 is asked for
};
TORCH_MODULE(LastLevelP6P7);

class FeaturePyramidNetworkImpl : public Head {
 public:
  explicit FeaturePyramidNetworkImpl(FeaturePyramidNetworkOptions options);
  /// features: one map per entry of in_channels, finest first, each [N, in_channels[i], H_i, W_i].
  /// Returns the input levels then the extra ones, each [N, out_channels, H, W].
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& features) override;
  const FeaturePyramidNetworkOptions& options() const noexcept { return options_; }

  // Public so tests and weight surgery can reach them by torchvision's names. Each entry of inner_blocks and
  // layer_blocks is a one-conv Sequential (torchvision's Conv2dNormActivation without norm), hence ".0" in the keys.
  torch::nn::ModuleList inner_blocks{nullptr};
  torch::nn::ModuleList layer_blocks{nullptr};
  LastLevelP6P7 extra_blocks{nullptr};  ///< null when num_extra_levels == 0

  /// The 1x1 lateral conv of input level `level` (inner_blocks.{level}.0), and its 3x3 output conv
  /// (layer_blocks.{level}.0).
  torch::nn::Conv2d inner_conv(std::size_t level) const { return inner_convs_.at(level); }
  torch::nn::Conv2d layer_conv(std::size_t level) const { return layer_convs_.at(level); }

 private:
  FeaturePyramidNetworkOptions options_;
  std::vector<torch::nn::Conv2d> inner_convs_;  // the same modules as inside the ModuleLists, typed
  std::vector<torch::nn::Conv2d> layer_convs_;
};

}  // namespace autotimm::fpn
