#pragma once
// Channel and padding arithmetic shared by the backbone families, as timm.layers' helpers.py and padding.py.
//
//   autotimm::layers::make_divisible(256 / 16.0, 8, std::nullopt, 0.0);   // 16: SE reduction channels
//   autotimm::layers::get_padding(3, 2);                                   // 1: "same"-ish symmetric padding
#include <cstdint>
#include <optional>

#include "autotimm/export.hpp"

namespace autotimm::layers {

/// `value` rounded to the nearest multiple of `divisor`, at least `min_value` (default: `divisor`), and bumped up by
/// one divisor when rounding lost more than (1 - round_limit) of the value. timm's make_divisible, bit for bit.
AUTOTIMM_API std::int64_t make_divisible(double value, std::int64_t divisor = 8,
                                         std::optional<std::int64_t> min_value = std::nullopt,
                                         double round_limit = 0.9);

/// Symmetric padding of a convolution: ((stride - 1) + dilation * (kernel_size - 1)) / 2, as timm's get_padding.
AUTOTIMM_API std::int64_t get_padding(std::int64_t kernel_size, std::int64_t stride = 1, std::int64_t dilation = 1);

/// TensorFlow "SAME" total padding of one spatial size: max((ceil(size / stride) - 1) * stride + (k - 1) * d + 1 -
/// size, 0). Split as total / 2 before and the rest after, as timm's pad_same.
AUTOTIMM_API std::int64_t get_same_padding(std::int64_t size, std::int64_t kernel_size, std::int64_t stride,
                                           std::int64_t dilation = 1);

}  // namespace autotimm::layers
