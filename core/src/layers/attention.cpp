#include "autotimm/layers/attention.hpp"

#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"

namespace autotimm::layers {
namespace {

thread_local AttentionCapture* t_attention_capture = nullptr;

// timm's order and constant: q · head_dim ** -0.5 first, then q @ kᵀ. Scaling the product instead rounds differently.
at::Tensor attention_weights(const at::Tensor& q, const at::Tensor& k) {
  const double scale = std::pow(static_cast<double>(q.size(-1)), -0.5);
  return torch::matmul(q * scale, k.transpose(-2, -1)).softmax(-1);
}

void check_rate(double rate, const char* field) {
  if (!(rate >= 0.0 && rate < 1.0)) {
    throw ConfigError(std::string("Attention: '") + field + "': expected a probability in [0, 1), got " +
                      std::to_string(rate));
  }
}

}  // namespace

at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        double dropout_p, bool training) {
  at::Tensor attn = attention_weights(q, k);
  if (t_attention_capture != nullptr) t_attention_capture->record(attn);
  if (dropout_p > 0.0 && training) attn = torch::dropout(attn, dropout_p, true);
  return torch::matmul(attn, v);
}

AttentionCapture::AttentionCapture() : outer_(t_attention_capture) { t_attention_capture = this; }

AttentionCapture::~AttentionCapture() { t_attention_capture = outer_; }

AttentionImpl::AttentionImpl(AttentionOptions options_) : options(options_) {
  if (options.dim <= 0 || options.num_heads <= 0 || options.dim % options.num_heads != 0) {
    throw ConfigError("Attention: expected num_heads to divide dim, got dim " + std::to_string(options.dim) +
                      " and num_heads " + std::to_string(options.num_heads));
  }
  check_rate(options.attn_drop, "attn_drop");
  check_rate(options.proj_drop, "proj_drop");
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(options.dim, options.dim * 3)
                                                     .bias(options.qkv_bias)));
  if (options.qk_norm) {
    const auto norm = torch::nn::LayerNormOptions({head_dim()}).eps(options.norm_eps);
    q_norm = register_module("q_norm", torch::nn::LayerNorm(norm));
    k_norm = register_module("k_norm", torch::nn::LayerNorm(norm));
  }
  proj = register_module("proj", torch::nn::Linear(torch::nn::LinearOptions(options.dim, options.dim)
                                                       .bias(options.proj_bias)));
}

AttentionImpl::~AttentionImpl() = default;

at::Tensor AttentionImpl::forward(const at::Tensor& x) {
  const std::int64_t batch = x.size(0), tokens = x.size(1);
  // [N, L, 3·dim] → [3, N, heads, L, head_dim]
  const auto qkv_heads =
      qkv->forward(x).reshape({batch, tokens, 3, options.num_heads, head_dim()}).permute({2, 0, 3, 1, 4});
  at::Tensor q = qkv_heads[0], k = qkv_heads[1];
  const at::Tensor v = qkv_heads[2];
  if (q_norm) {
    q = q_norm->forward(q);
    k = k_norm->forward(k);
  }
  at::Tensor y = scaled_dot_product_attention(q, k, v, options.attn_drop, is_training());
  y = proj->forward(y.transpose(1, 2).reshape({batch, tokens, options.dim}));
  if (options.proj_drop > 0.0) y = torch::dropout(y, options.proj_drop, is_training());
  return y;
}

void AttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "autotimm::layers::Attention(dim=" << options.dim << ", num_heads=" << options.num_heads
         << ", qkv_bias=" << (options.qkv_bias ? "true" : "false") << ", qk_norm="
         << (options.qk_norm ? "true" : "false") << ")";
}

}  // namespace autotimm::layers
