#pragma once
// Weight initialisers timm uses that LibTorch 1.13 lacks (timm/layers/weight_init.py).
//
//   autotimm::layers::trunc_normal_(conv->weight, 0.0, 0.02);   // ConvNeXt, ViT: N(0, 0.02) cut at ±2 (absolute)
#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"

namespace autotimm::layers {

/// Fills `tensor` in place from N(mean, std²) truncated to [a, b] (absolute bounds, as torch.nn.init.trunc_normal_,
/// not multiples of std), by the inverse-CDF method PyTorch uses; runs without recording gradients. Returns `tensor`.
AUTOTIMM_API at::Tensor trunc_normal_(at::Tensor tensor, double mean = 0.0, double std = 1.0, double a = -2.0,
                                      double b = 2.0);

}  // namespace autotimm::layers
