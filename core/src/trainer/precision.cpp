#include "autotimm/trainer/precision.hpp"

#include <ATen/autocast_mode.h>

#include "autotimm/error.hpp"

namespace autotimm {

Precision parse_precision(const std::string& text) {
  if (text == "32" || text == "32-true") return Precision::fp32;
  if (text == "bf16-mixed" || text == "bf16") return Precision::bf16_mixed;
  const std::string supported = "supported: 32 (32-true), bf16-mixed (bf16)";
  if (text == "16-mixed" || text == "16") {
    throw ConfigError("AutoTrainer: precision '" + text + "' (float16 with dynamic loss scaling) is not in this build; " +
                      supported + ", which needs no loss scaling and runs fast on CPUs with AVX-512 BF16");
  }
  if (text == "bf16-true" || text == "16-true" || text == "64" || text == "64-true") {
    throw ConfigError("AutoTrainer: precision '" + text + "' (weights kept in that dtype) is not in this build; " +
                      supported);
  }
  throw ConfigError("AutoTrainer: unknown precision '" + text + "'; " + supported);
}

AutocastScope::AutocastScope(Precision precision, const torch::Device& device) {
  if (precision == Precision::fp32) return;
  active_ = true;
  cuda_ = device.is_cuda();
  if (cuda_) {
    was_enabled_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
  } else {
    was_enabled_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(was_enabled_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
  } else {
    at::autocast::set_cpu_enabled(was_enabled_);
    at::autocast::set_autocast_cpu_dtype(previous_dtype_);
  }
}

}  // namespace autotimm
