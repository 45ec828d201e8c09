#include "autotimm/layers/weight_init.hpp"

#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"

namespace autotimm::layers {

at::Tensor trunc_normal_(at::Tensor tensor, double mean, double std, double a, double b) {
  if (!(std > 0.0) || !(a < b)) {
    throw ConfigError("trunc_normal_: expected std > 0 and a < b, got std " + std::to_string(std) + ", [" +
                      std::to_string(a) + ", " + std::to_string(b) + "]");
  }
  const auto normal_cdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
  const double low = normal_cdf((a - mean) / std);
  const double high = normal_cdf((b - mean) / std);
  torch::NoGradGuard no_grad;
  // Uniform in the CDF's image of [a, b], mapped back through the inverse CDF; clamped against rounding at the ends.
  tensor.uniform_(2.0 * low - 1.0, 2.0 * high - 1.0);
  tensor.erfinv_();
  tensor.mul_(std * std::sqrt(2.0));
  tensor.add_(mean);
  tensor.clamp_(a, b);
  return tensor;
}

}  // namespace autotimm::layers
