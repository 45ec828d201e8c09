#pragma once
// Global pooling chosen by name, as timm's SelectAdaptivePool2d (timm/layers/adaptive_avgmax_pool.py):
// "avg", "max", "avgmax" (mean of both), "catavgmax" (both concatenated: twice the channels) and "" (no pooling).
//
//   autotimm::layers::SelectAdaptivePool2d pool({.pool_type = autotimm::layers::PoolType::avg, .flatten = true});
//   torch::Tensor pooled = pool(features);   // [N, C, H, W] → [N, C]
#include <string>
#include <string_view>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "autotimm/export.hpp"

namespace autotimm::layers {

enum class PoolType { none, avg, max, avgmax, catavgmax };

/// timm's spelling: "", "avg", "max", "avgmax", "catavgmax".
AUTOTIMM_API std::string_view pool_type_name(PoolType type) noexcept;

/// The pool type called `name`. ConfigError otherwise, naming `context` (e.g. "option 'global_pool' of resnet50")
/// and listing the valid names.
AUTOTIMM_API PoolType parse_pool_type(std::string_view name, std::string_view context);

/// How many times the channels the pooled output has: 2 for catavgmax, 1 otherwise (timm's feat_mult).
AUTOTIMM_API std::int64_t pool_feature_multiplier(PoolType type) noexcept;

/// Pools [N, C, H, W] to [N, C', 1, 1] (or [N, C'] with `flatten`), with the same kernels as timm's non-"fast"
/// path (adaptive_avg_pool2d / adaptive_max_pool2d), so results match it bit for bit. PoolType::none returns `x`.
AUTOTIMM_API at::Tensor select_adaptive_pool2d(const at::Tensor& x, PoolType type, bool flatten);

struct SelectAdaptivePool2dOptions {
  PoolType pool_type = PoolType::avg;
  bool flatten = false;  ///< [N, C] instead of [N, C, 1, 1]; ignored for PoolType::none, as in timm
};

/// Parameter-free global pooling module.
class AUTOTIMM_API SelectAdaptivePool2dImpl : public torch::nn::Module {
 public:
  explicit SelectAdaptivePool2dImpl(SelectAdaptivePool2dOptions options = {});
  ~SelectAdaptivePool2dImpl() override;

  at::Tensor forward(const at::Tensor& x);
  bool is_identity() const noexcept { return options.pool_type == PoolType::none; }
  std::int64_t feature_multiplier() const noexcept { return pool_feature_multiplier(options.pool_type); }
  void pretty_print(std::ostream& stream) const override;

  SelectAdaptivePool2dOptions options;
};
TORCH_MODULE(SelectAdaptivePool2d);

}  // namespace autotimm::layers
