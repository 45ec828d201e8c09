#pragma once
// The trainer's precision setting: which names it takes, and the autocast scope its steps run in (also what a
// benchmark or an application loop uses to run a step as the trainer would).
//
//   const Precision precision = parse_precision(options.precision, device);
//   { AutocastScope autocast(precision, device); auto out = task.training_step(batch, info); }
//   out.loss.backward();  // outside the scope, as autocast wants
#include <string>

#include <torch/torch.h>

#include "autotimm/export.hpp"

namespace autotimm {

enum class Precision {
  fp32,        ///< "32", "32-true"
  bf16_mixed,  ///< "bf16-mixed", "bf16": forward and loss under autocast to bfloat16, fp32 weights and optimizer
  fp16_mixed,  ///< "16-mixed", "16": CUDA only; autocast to float16, fp32 weights, dynamic loss scaling
  bf16_true,   ///< "bf16-true": weights, buffers, optimizer state and inputs in bfloat16, no autocast
};

/// The setting named `text`. ConfigError listing the supported names for anything else (16-true and 64 included).
AUTOTIMM_API Precision parse_precision(const std::string& text);

/// The dtype the weights live in: bfloat16 for bf16-true, else float32.
AUTOTIMM_API at::ScalarType weight_dtype(Precision precision);

/// Autocast on `device` to the precision's lower dtype while it lives (nothing for fp32 and bf16-true); the previous autocast
/// state and dtype come back at the end and the cast cache is cleared, as torch.autocast does on exit.
class AUTOTIMM_API AutocastScope {
 public:
  AutocastScope(Precision precision, const torch::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

}  // namespace autotimm
