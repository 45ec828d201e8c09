#include "autotimm/trainer/grad_scaler.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"

namespace autotimm {

GradScaler::GradScaler(GradScalerOptions options) : options_(options), scale_(options.init_scale) {
  if (!(options_.init_scale > 0.0)) throw ConfigError("GradScaler: init_scale must be > 0");
  if (!(options_.growth_factor > 1.0)) throw ConfigError("GradScaler: growth_factor must be > 1");
  if (!(options_.backoff_factor > 0.0 && options_.backoff_factor < 1.0)) {
    throw ConfigError("GradScaler: backoff_factor must be in (0, 1)");
  }
  if (options_.growth_interval < 1) throw ConfigError("GradScaler: growth_interval must be >= 1");
}

torch::Tensor GradScaler::scale(const torch::Tensor& loss) const { return loss * scale_; }

bool GradScaler::unscale(const std::vector<torch::Tensor>& parameters) const {
  torch::NoGradGuard no_grad;
  const double inverse = 1.0 / scale_;
  torch::Tensor non_finite;  // one flag on the device, read once: no synchronisation per parameter
  for (const auto& p : parameters) {
    const auto& grad = p.grad();
    if (!grad.defined()) continue;
    grad.mul_(inverse);
    const auto bad = torch::isfinite(grad).logical_not().any();
    non_finite = non_finite.defined() ? non_finite.logical_or(bad) : bad;
  }
  return !non_finite.defined() || !non_finite.item<bool>();
}

void GradScaler::update(bool found_inf) {
  if (found_inf) {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
    return;
  }
  if (++growth_tracker_ == options_.growth_interval) {
    scale_ *= options_.growth_factor;
    growth_tracker_ = 0;
  }
}

std::map<std::string, double> GradScaler::state() const {
  return {{"scale", scale_}, {"growth_tracker", static_cast<double>(growth_tracker_)}};
}

void GradScaler::load_state(const std::map<std::string, double>& state) {
  if (const auto it = state.find("scale"); it != state.end() && it->second > 0.0) scale_ = it->second;
  if (const auto it = state.find("growth_tracker"); it != state.end()) growth_tracker_ = static_cast<int>(it->second);
}

}  // namespace autotimm
