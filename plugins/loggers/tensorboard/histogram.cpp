#include "histogram.hpp"

#include <cfloat>

#include <torch/torch.h>

namespace autotimm::tensorboard {

const std::vector<double>& default_bucket_limits() {
  static const std::vector<double> limits = [] {
    std::vector<double> positive;
    for (double v = 1e-12; v < 1e20; v *= 1.1) positive.push_back(v);
    std::vector<double> out;
    out.reserve(2 * positive.size() + 3);
    out.push_back(-DBL_MAX);
    for (auto it = positive.rbegin(); it != positive.rend(); ++it) out.push_back(-*it);
    out.push_back(0.0);
    out.insert(out.end(), positive.begin(), positive.end());
    out.push_back(DBL_MAX);
    return out;
  }();
  return limits;
}

HistogramData make_histogram(const at::Tensor& values) {
  torch::Tensor v = values.detach().to(torch::kCPU, torch::kFloat64).flatten();
  v = v.masked_select(torch::isfinite(v));
  HistogramData h;
  if (v.numel() == 0) return h;
  h.min = v.min().item<double>();
  h.max = v.max().item<double>();
  h.num = static_cast<double>(v.numel());
  h.sum = v.sum().item<double>();
  h.sum_squares = v.square().sum().item<double>();

  const auto& limits = default_bucket_limits();
  const auto edges = torch::from_blob(const_cast<double*>(limits.data()), {static_cast<std::int64_t>(limits.size())},
                                      torch::kFloat64);
  // right=false: index i with limits[i-1] < x <= limits[i], the HistogramProto convention.
  const auto index = torch::bucketize(v, edges, /*out_int32=*/false, /*right=*/false);
  const auto counts = torch::bincount(index, {}, static_cast<std::int64_t>(limits.size()))
                          .to(torch::kFloat64)
                          .contiguous();
  const double* c = counts.data_ptr<double>();
  const auto n = static_cast<std::size_t>(counts.numel());
  std::size_t first = 0;
  while (first < n && c[first] == 0) ++first;
  std::size_t last = n - 1;
  while (last > first && c[last] == 0) --last;
  // One empty bucket before the first populated one: TensorBoard draws a bucket from the previous limit.
  const std::size_t begin = first > 0 ? first - 1 : 0;
  for (std::size_t i = begin; i <= last; ++i) {
    h.bucket_limit.push_back(limits[i]);
    h.bucket.push_back(c[i]);
  }
  return h;
}

}  // namespace autotimm::tensorboard
