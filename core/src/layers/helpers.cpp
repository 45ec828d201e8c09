#include "autotimm/layers/helpers.hpp"

#include <algorithm>

namespace autotimm::layers {

std::int64_t make_divisible(double value, std::int64_t divisor, std::optional<std::int64_t> min_value,
                            double round_limit) {
  const std::int64_t floor_value = min_value.value_or(divisor);
  // Python's int() truncates toward zero and // floors; channel counts are positive, so both are plain truncation.
  const auto rounded = static_cast<std::int64_t>(value + static_cast<double>(divisor) / 2.0) / divisor * divisor;
  std::int64_t result = std::max(floor_value, rounded);
  if (static_cast<double>(result) < round_limit * value) result += divisor;
  return result;
}

std::int64_t get_padding(std::int64_t kernel_size, std::int64_t stride, std::int64_t dilation) {
  return ((stride - 1) + dilation * (kernel_size - 1)) / 2;
}

std::int64_t get_same_padding(std::int64_t size, std::int64_t kernel_size, std::int64_t stride, std::int64_t dilation) {
  const std::int64_t steps = (size + stride - 1) / stride;  // ceil(size / stride) for positive sizes
  return std::max<std::int64_t>((steps - 1) * stride + (kernel_size - 1) * dilation + 1 - size, 0);
}

}  // namespace autotimm::layers
