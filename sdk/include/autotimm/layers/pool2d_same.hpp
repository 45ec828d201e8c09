#pragma once
// Average pooling with TensorFlow "SAME" padding, as timm's AvgPool2dSame (timm/layers/pool2d_same.py): the input is
// zero-padded (total / 2 before, the rest after) so the output has ceil(size / stride) positions.
//
//   autotimm::layers::AvgPool2dSame pool({.kernel_size = 2, .stride = 1, .ceil_mode = true});
#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "autotimm/export.hpp"

namespace autotimm::layers {

struct AvgPool2dSameOptions {
  std::int64_t kernel_size = 2;
  std::int64_t stride = 1;
  bool ceil_mode = false;
  bool count_include_pad = true;  ///< concerns only avg_pool2d's own padding, which is zero here (as in timm)
};

class AUTOTIMM_API AvgPool2dSameImpl : public torch::nn::Module {
 public:
  explicit AvgPool2dSameImpl(AvgPool2dSameOptions options = {});
  ~AvgPool2dSameImpl() override;

  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  AvgPool2dSameOptions options;
};
TORCH_MODULE(AvgPool2dSame);

}  // namespace autotimm::layers
