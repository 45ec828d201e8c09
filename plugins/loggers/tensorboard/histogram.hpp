#pragma once
// Histograms as PyTorch's add_histogram writes them by default (bins="tensorflow"): TensorFlow's bucket limits
// (±1e-12 growing by 1.1 up to 1e20, then ±DBL_MAX, and 0), trimmed to the populated range plus one empty bucket
// on the left so the lowest edge shows.
#include <string_view>
#include <vector>

#include "summary.hpp"

namespace at {
class Tensor;
}

namespace autotimm::tensorboard {

/// TensorFlow's default bucket limits, increasing: -DBL_MAX, ..., -1e-12, 0, 1e-12, ..., DBL_MAX.
const std::vector<double>& default_bucket_limits();

/// min, max, num, sum, sum of squares and the trimmed buckets of the finite values of `values` (any shape, any
/// real dtype). num is 0 (and there are no buckets) when no value is finite.
HistogramData make_histogram(const at::Tensor& values);

}  // namespace autotimm::tensorboard
