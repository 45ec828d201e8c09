#pragma once
// Multi-head self-attention with a fused qkv projection, as timm's layers/attention.py Attention: state dict keys
// `qkv.weight`, `qkv.bias` (with qkv_bias), `q_norm.*` / `k_norm.*` (with qk_norm), `proj.weight`, `proj.bias`.
//
//   autotimm::layers::Attention attn(autotimm::layers::AttentionOptions{.dim = 384, .num_heads = 6});
//   torch::Tensor y = attn(tokens);                                  // [N, L, 384] → [N, L, 384]
//
// Numerics: softmax(q·scale @ kᵀ) @ v, the order of operations of timm's non-fused path, which is the path timm
// takes on PyTorch 1.13 (torch.nn.functional.scaled_dot_product_attention arrived in PyTorch 2.0). LibTorch 1.13 has
// only the private at::_scaled_dot_product_attention, which scales q and k by d^-1/4 each: equal to float rounding,
// not bit for bit, and no faster on CPU (the same matmul-softmax-matmul), so it is not used.
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "autotimm/export.hpp"

namespace autotimm::layers {

/// softmax(q·d^-1/2 @ kᵀ) @ v over the last two dims of [..., L, d] tensors, with dropout on the attention weights
/// when `training` and dropout_p > 0. The plain path timm takes without fused attention, in its order of operations.
AUTOTIMM_API at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                                     double dropout_p = 0.0, bool training = false);

/// While alive on this thread, every layers::Attention forward (every scaled_dot_product_attention call) records its attention weights, softmax(q·d^-1/2 @ kᵀ)
/// as [N, heads, L, L] before dropout, in call order (a ViT's blocks in depth order): what Attention Rollout reads.
/// The weights keep their autograd history. Captures nest; the innermost records.
///
///   autotimm::layers::AttentionCapture capture;
///   vit->forward(images);
///   const auto& maps = capture.weights();   // one per block
class AUTOTIMM_API AttentionCapture {
 public:
  AttentionCapture();
  ~AttentionCapture();
  AttentionCapture(const AttentionCapture&) = delete;
  AttentionCapture& operator=(const AttentionCapture&) = delete;

  const std::vector<at::Tensor>& weights() const noexcept { return weights_; }
  void clear() { weights_.clear(); }
  void record(const at::Tensor& weights) { weights_.push_back(weights); }

 private:
  std::vector<at::Tensor> weights_;
  AttentionCapture* outer_;
};

struct AttentionOptions {
  std::int64_t dim = 0;
  std::int64_t num_heads = 8;   ///< must divide dim
  bool qkv_bias = false;
  bool qk_norm = false;         ///< LayerNorm over each head's q and k (timm's q_norm, k_norm)
  double norm_eps = 1e-6;       ///< of the qk_norm LayerNorms (timm's ViT LayerNorm)
  bool proj_bias = true;
  double attn_drop = 0.0;       ///< dropout on the attention weights (training only)
  double proj_drop = 0.0;       ///< dropout after proj (training only)
};

class AUTOTIMM_API AttentionImpl : public torch::nn::Module {
 public:
  /// ConfigError when num_heads does not divide dim, or a rate is not a probability in [0, 1).
  explicit AttentionImpl(AttentionOptions options);
  ~AttentionImpl() override;

  /// [N, L, dim] → [N, L, dim].
  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  std::int64_t head_dim() const noexcept { return options.dim / options.num_heads; }

  AttentionOptions options;
  torch::nn::Linear qkv{nullptr};
  torch::nn::LayerNorm q_norm{nullptr};  ///< nullptr without qk_norm (timm's nn.Identity)
  torch::nn::LayerNorm k_norm{nullptr};
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(Attention);

}  // namespace autotimm::layers
