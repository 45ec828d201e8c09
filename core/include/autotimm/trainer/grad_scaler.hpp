#pragma once
// Dynamic loss scaling for float16 training (precision 16-mixed), as torch.cuda.amp.GradScaler: the loss is
// multiplied by a large scale before backward so small float16 gradients do not flush to zero; before the optimizer
// step the gradients are divided back, and a step whose gradients overflowed is skipped and the scale halved; after
// growth_interval clean steps the scale doubles.
//
//   GradScaler scaler;
//   scaler.scale(loss).backward();
//   const bool finite = scaler.unscale(parameters);   // then clip, if clipping
//   if (finite) optimizer.step();
//   scaler.update(!finite);
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include "autotimm/export.hpp"

namespace autotimm {

struct GradScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int growth_interval = 2000;
};

class AUTOTIMM_API GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});
  /// The loss times the current scale.
  torch::Tensor scale(const torch::Tensor& loss) const;
  /// Divides every defined gradient by the scale, in place; true when all of them are finite.
  bool unscale(const std::vector<torch::Tensor>& parameters) const;
  /// After a step (taken, or skipped for `found_inf`): back off on overflow, grow after growth_interval clean steps.
  void update(bool found_inf);
  double scale_value() const noexcept { return scale_; }
  int growth_tracker() const noexcept { return growth_tracker_; }
  /// For checkpoints: "scale" and "growth_tracker".
  std::map<std::string, double> state() const;
  void load_state(const std::map<std::string, double>& state);

 private:
  GradScalerOptions options_;
  double scale_;
  int growth_tracker_ = 0;
};

}  // namespace autotimm
