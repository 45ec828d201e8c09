#pragma once
// The pieces of a ConvNeXt private to the family, as timm's convnext.py: the MLP (linear or 1×1 conv, optionally with
// Global Response Norm), the block (depthwise conv → norm → MLP → layer scale → drop path + shortcut) and the stage
// (optional norm + strided conv downsample, then the blocks). Submodule names are timm's: they are the state-dict keys.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autotimm/layers/activations.hpp"
#include "autotimm/layers/grn.hpp"
#include "autotimm/layers/layer_norm2d.hpp"

namespace autotimm::convnext {

struct MlpOptions {
  std::int64_t in_features = 0;
  std::int64_t hidden_features = 0;
  bool use_conv = false;  ///< 1×1 convs on NCHW maps instead of Linear layers on NHWC tensors
  bool use_grn = false;   ///< timm's GlobalResponseNormMlp: a GRN between act and fc2 (ConvNeXt-V2)
  layers::Activation act_layer = layers::Activation::gelu;
};

/// timm's Mlp / GlobalResponseNormMlp: fc1 → act → [grn] → fc2 (dropout 0, as ConvNeXt builds them). Keys: fc1.*,
/// grn.weight/bias [hidden] (V2), fc2.*.
class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(MlpOptions options);
  torch::Tensor forward(const torch::Tensor& x);

  MlpOptions options;

 private:
  torch::nn::Linear linear_fc1_{nullptr}, linear_fc2_{nullptr};
  torch::nn::Conv2d conv_fc1_{nullptr}, conv_fc2_{nullptr};
  layers::GlobalResponseNorm grn_{nullptr};
};
TORCH_MODULE(Mlp);

struct BlockOptions {
  std::int64_t channels = 0;
  std::int64_t kernel_size = 7;
  std::int64_t dilation = 1;
  bool conv_mlp = false;  ///< NCHW all the way (LayerNorm2d, 1×1 convs) instead of permuting to NHWC
  bool conv_bias = true;
  bool use_grn = false;
  std::optional<double> ls_init_value = 1e-6;  ///< unset: no layer scale (no `gamma` parameter)
  layers::Activation act_layer = layers::Activation::gelu;
  double norm_eps = 1e-6;
  double drop_path = 0.0;
};

/// timm's ConvNeXtBlock (same channels in and out, stride 1: the only form ConvNeXt builds). Keys: gamma [C] (with
/// layer scale), conv_dw.*, norm.*, mlp.*.
class ConvNeXtBlockImpl : public torch::nn::Module {
 public:
  explicit ConvNeXtBlockImpl(BlockOptions options);
  torch::Tensor forward(const torch::Tensor& x);

  BlockOptions options;

 private:
  torch::Tensor gamma_;
  torch::nn::Conv2d conv_dw_{nullptr};
  layers::LayerNorm2d norm2d_{nullptr};      // conv_mlp
  torch::nn::LayerNorm norm_last_{nullptr};  // linear MLP: LayerNorm on NHWC
  Mlp mlp_{nullptr};
};
TORCH_MODULE(ConvNeXtBlock);

struct StageOptions {
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  std::int64_t kernel_size = 7;
  std::int64_t stride = 2;
  std::int64_t first_dilation = 1;           ///< dilation of the downsample conv
  std::int64_t dilation = 1;                 ///< dilation of the blocks' depthwise convs
  std::vector<double> drop_path_rates = {};  ///< one per block: the stage's depth
  BlockOptions block = {};                   ///< channels, kernel_size, dilation and drop_path are set per block
};

/// timm's ConvNeXtStage: `downsample` (LayerNorm2d + k×k conv with stride, k = 2, or 1 when only the width changes)
/// when the width or resolution changes, then `blocks`. Keys: downsample.0.*, downsample.1.*, blocks.N.*.
class ConvNeXtStageImpl : public torch::nn::Module {
 public:
  explicit ConvNeXtStageImpl(StageOptions options);
  torch::Tensor forward(const torch::Tensor& x);

  StageOptions options;

 private:
  torch::Tensor downsample(const torch::Tensor& x);

  layers::LayerNorm2d downsample_norm_{nullptr};
  torch::nn::Conv2d downsample_conv_{nullptr};
  bool same_padding_ = false;  // timm's padding='same' for a dilated downsample: TF-style, computed per input
  torch::nn::Sequential blocks_{nullptr};
};
TORCH_MODULE(ConvNeXtStage);

}  // namespace autotimm::convnext
