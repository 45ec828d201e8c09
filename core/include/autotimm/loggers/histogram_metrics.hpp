#pragma once
// Histograms for loggers without a histogram type (CSV, MLflow): the values' summary as four metrics.
#include <map>
#include <string>
#include <string_view>

#include "autotimm/export.hpp"

namespace at {
class Tensor;
}

namespace autotimm {

/// {<tag>/min, <tag>/max, <tag>/mean, <tag>/std} of every element of `values` (std 0 for one value); empty when
/// there are none.
AUTOTIMM_API std::map<std::string, double> histogram_metrics(std::string_view tag, const at::Tensor& values);

}  // namespace autotimm
