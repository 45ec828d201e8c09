#pragma once
// Helpers shared by the metric accumulators: input checks with messages that name the update, and the
// zero-safe division torchmetrics uses.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "autotimm/error.hpp"

namespace autotimm::metrics_detail {

inline std::string shape_string(const torch::Tensor& t) {
  std::string s = "[";
  for (std::int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

inline std::string where(std::string_view metric, std::int64_t update) {
  return std::string(metric) + " update #" + std::to_string(update);
}

/// ConfigError naming the first NaN entry, so a bad batch is found, not averaged into garbage.
inline void check_no_nan(const torch::Tensor& preds, std::string_view metric, std::int64_t update) {
  const auto nan = torch::isnan(preds);
  if (!nan.any().item<bool>()) return;
  const auto first = nan.nonzero()[0].cpu();
  std::string index = "[";
  for (std::int64_t d = 0; d < first.size(0); ++d) index += (d ? ", " : "") + std::to_string(first[d].item<std::int64_t>());
  throw ConfigError(where(metric, update) + ": preds has NaN at " + index + "] (" +
                    std::to_string(nan.sum().item<std::int64_t>()) + " NaN of " + std::to_string(preds.numel()) +
                    "): expected finite logits or probabilities; check the model output for this batch");
}

/// num / den per element, 0 where den == 0 (torchmetrics' zero_division = 0).
inline torch::Tensor safe_divide(const torch::Tensor& num, const torch::Tensor& den) {
  const auto n = num.to(torch::kFloat64);
  const auto d = den.to(torch::kFloat64);
  return torch::where(d != 0, n / torch::where(d != 0, d, torch::ones_like(d)), torch::zeros_like(n));
}

inline double safe_divide(double num, double den) { return den != 0 ? num / den : 0.0; }

/// sum(weights * score) / sum(weights), 0 when the weights sum to 0.
inline double weighted_mean(const torch::Tensor& score, const torch::Tensor& weights) {
  const auto w = weights.to(torch::kFloat64);
  return safe_divide((w * score).sum().item<double>(), w.sum().item<double>());
}

}  // namespace autotimm::metrics_detail
