#include "autotimm/trainer/precision.hpp"

#include <ATen/autocast_mode.h>

#include "autotimm/error.hpp"

namespace autotimm {

Precision parse_precision(const std::string& text) {
  if (text == "32" || text == "32-true") return Precision::fp32;
  if (text == "bf16-mixed" || text == "bf16") return Precision::bf16_mixed;
  if (text == "16-mixed" || text == "16") return Precision::fp16_mixed;
  if (text == "bf16-true") return Precision::bf16_true;
  const std::string supported = "supported: 32 (32-true), bf16-mixed (bf16), 16-mixed (16, CUDA), bf16-true";
  if (text == "16-true" || text == "64" || text == "64-true") {
    throw ConfigError("AutoTrainer: precision '" + text + "' (weights kept in that dtype) is not in this build; " +
                      supported);
  }
  throw ConfigError("AutoTrainer: unknown precision '" + text + "'; " + supported);
}

at::ScalarType weight_dtype(Precision precision) {
  return precision == Precision::bf16_true ? at::kBFloat16 : at::kFloat;
}

AutocastScope::AutocastScope(Precision precision, const torch::Device& device) {
  if (precision == Precision::fp32 || precision == Precision::bf16_true) return;
  active_ = true;
  cuda_ = device.is_cuda();
  const auto dtype = precision == Precision::fp16_mixed ? at::kHalf : at::kBFloat16;
  if (cuda_) {
    was_enabled_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(true);
  } else {
    if (dtype == at::kHalf) {
      throw ConfigError("precision '16-mixed' autocasts to float16, which runs on CUDA only; on the CPU use bf16-mixed");
    }
    was_enabled_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(dtype);
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
