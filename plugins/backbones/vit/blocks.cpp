#include "blocks.hpp"

#include <torch/torch.h>

#include "autotimm/layers/drop.hpp"

namespace autotimm::vit {

BlockImpl::BlockImpl(const BlockOptions& options) : options_(options) {
  const auto& o = options_;
  const auto norm = torch::nn::LayerNormOptions({o.dim}).eps(kLayerNormEps);
  norm1_ = register_module("norm1", torch::nn::LayerNorm(norm));
  attn_ = register_module("attn", layers::Attention(layers::AttentionOptions{.dim = o.dim,
                                                                             .num_heads = o.num_heads,
                                                                             .qkv_bias = o.qkv_bias,
                                                                             .qk_norm = o.qk_norm,
                                                                             .norm_eps = kLayerNormEps,
                                                                             .proj_bias = o.proj_bias,
                                                                             .attn_drop = o.attn_drop,
                                                                             .proj_drop = o.proj_drop}));
  const bool layer_scale = o.init_values && *o.init_values != 0.0;
  if (layer_scale) {
    ls1_ = register_module("ls1", layers::LayerScale(layers::LayerScaleOptions{.dim = o.dim,
                                                                               .init_values = *o.init_values}));
  }
  norm2_ = register_module("norm2", torch::nn::LayerNorm(norm));
  // Python's int(dim * mlp_ratio) truncates toward zero.
  const auto hidden = static_cast<std::int64_t>(static_cast<double>(o.dim) * o.mlp_ratio);
  mlp_ = register_module("mlp", layers::Mlp(layers::MlpOptions{.in_features = o.dim,
                                                                .hidden_features = hidden,
                                                                .act_layer = o.act_layer,
                                                                .bias = o.proj_bias,
                                                                .drop = o.proj_drop}));
  if (layer_scale) {
    ls2_ = register_module("ls2", layers::LayerScale(layers::LayerScaleOptions{.dim = o.dim,
                                                                               .init_values = *o.init_values}));
  }
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x) {
  const bool training = is_training();
  torch::Tensor branch = attn_->forward(norm1_->forward(x));
  if (ls1_) branch = ls1_->forward(branch);
  torch::Tensor y = x + layers::drop_path(branch, options_.drop_path, training);
  branch = mlp_->forward(norm2_->forward(y));
  if (ls2_) branch = ls2_->forward(branch);
  return y + layers::drop_path(branch, options_.drop_path, training);
}

}  // namespace autotimm::vit
