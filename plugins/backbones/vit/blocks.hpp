#pragma once
// The pre-norm transformer block of timm's vision_transformer.py (class Block):
//   x = x + drop_path(ls1(attn(norm1(x))))
//   x = x + drop_path(ls2(mlp(norm2(x))))
// Submodules under timm's names, in timm's order: norm1, attn, ls1 (with layer scale), norm2, mlp, ls2.
#include <cstdint>
#include <optional>

#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "autotimm/layers/activations.hpp"
#include "autotimm/layers/attention.hpp"
#include "autotimm/layers/layer_scale.hpp"
#include "autotimm/layers/mlp.hpp"

namespace autotimm::vit {

/// timm's LayerNorm for ViT (eps 1e-6), used for every norm of the family.
inline constexpr double kLayerNormEps = 1e-6;

struct BlockOptions {
  std::int64_t dim = 768;
  std::int64_t num_heads = 12;
  double mlp_ratio = 4.0;  ///< hidden width = int(dim · mlp_ratio), truncated as Python's int()
  bool qkv_bias = true;
  bool qk_norm = false;
  bool proj_bias = true;
  double proj_drop = 0.0;
  double attn_drop = 0.0;
  std::optional<double> init_values = {};  ///< layer scale ls1/ls2 when set and non-zero (timm: `if init_values`)
  double drop_path = 0.0;
  layers::Activation act_layer = layers::Activation::gelu;
};

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const BlockOptions& options);

  torch::Tensor forward(const torch::Tensor& x);

  const BlockOptions& options() const noexcept { return options_; }
  layers::Attention& attn() noexcept { return attn_; }
  layers::Mlp& mlp() noexcept { return mlp_; }

 private:
  BlockOptions options_;
  torch::nn::LayerNorm norm1_{nullptr};
  layers::Attention attn_{nullptr};
  layers::LayerScale ls1_{nullptr};  // nullptr without layer scale (timm's nn.Identity)
  torch::nn::LayerNorm norm2_{nullptr};
  layers::Mlp mlp_{nullptr};
  layers::LayerScale ls2_{nullptr};
};
TORCH_MODULE(Block);

}  // namespace autotimm::vit
