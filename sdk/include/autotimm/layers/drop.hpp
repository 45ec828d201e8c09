#pragma once
// Train-time regularisers, as timm's drop.py: DropPath (stochastic depth: drop a whole residual branch per sample)
// and DropBlock2d (drop square blocks of a feature map, timm's default "fast" variant). Both are the identity in eval
// mode and have no parameters.
//
//   autotimm::layers::DropPath drop_path({.drop_prob = 0.1});
//   x = shortcut + drop_path(branch);
#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "autotimm/export.hpp"

namespace autotimm::layers {

/// Zeroes each sample of `x` with probability `drop_prob` (one draw per sample, broadcast over the other dims) and,
/// with `scale_by_keep`, divides the survivors by 1 - drop_prob. Returns `x` itself when not training or drop_prob 0.
AUTOTIMM_API at::Tensor drop_path(const at::Tensor& x, double drop_prob, bool training, bool scale_by_keep = true);

struct DropPathOptions {
  double drop_prob = 0.0;
  bool scale_by_keep = true;
};

class AUTOTIMM_API DropPathImpl : public torch::nn::Module {
 public:
  explicit DropPathImpl(DropPathOptions options = {});
  ~DropPathImpl() override;

  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  DropPathOptions options;
};
TORCH_MODULE(DropPath);

/// timm's drop_block_fast_2d: Bernoulli seeds at rate gamma, grown into block_size squares by max pooling, the rest
/// rescaled to keep the mean. `x` is NCHW.
AUTOTIMM_API at::Tensor drop_block_fast_2d(const at::Tensor& x, double drop_prob, std::int64_t block_size,
                                           double gamma_scale);

struct DropBlock2dOptions {
  double drop_prob = 0.1;
  std::int64_t block_size = 7;
  double gamma_scale = 1.0;
};

class AUTOTIMM_API DropBlock2dImpl : public torch::nn::Module {
 public:
  explicit DropBlock2dImpl(DropBlock2dOptions options = {});
  ~DropBlock2dImpl() override;

  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  DropBlock2dOptions options;
};
TORCH_MODULE(DropBlock2d);

}  // namespace autotimm::layers
