#pragma once
// BatchNorm2d with torch's parameters, buffers, state dict keys and numbers, which a distributed run can switch to
// synchronised statistics (as torch's SyncBatchNorm): while a SyncBatchNormScope is active on the thread, training
// batches are normalised with the mean and variance of the batch over every rank, and the gradients flow back across
// ranks. Families build their BatchNorm with this layer so the trainer's `sync_batchnorm` works on any model: C++
// modules cannot be swapped for other types inside their parents after the model is built.
//
//   autotimm::layers::BatchNorm2d bn(autotimm::layers::BatchNorm2dOptions{.num_features = 64});  // as torch
//   torch::Tensor y = bn(x);                                  // [N, 64, H, W]
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>

#include "autotimm/export.hpp"

namespace autotimm::layers {

struct BatchNorm2dOptions {
  std::int64_t num_features = 0;
  double eps = 1e-5;
  /// Weight of the new batch in the running statistics; nullopt: a cumulative average over the batches seen.
  std::optional<double> momentum = 0.1;
  bool affine = true;               ///< learnable weight (ones) and bias (zeros)
  bool track_running_stats = true;  ///< running_mean, running_var, num_batches_tracked (eval uses them)
};

class AUTOTIMM_API BatchNorm2dImpl : public torch::nn::Module {
 public:
  explicit BatchNorm2dImpl(BatchNorm2dOptions options);
  ~BatchNorm2dImpl() override;

  /// [N, C, H, W] → same shape. Batch statistics in training (synchronised across ranks in a SyncBatchNormScope),
  /// running statistics in eval.
  at::Tensor forward(const at::Tensor& x);
  void reset_running_stats();
  void pretty_print(std::ostream& stream) const override;

  BatchNorm2dOptions options;
  at::Tensor weight, bias;                                  ///< undefined when !affine
  at::Tensor running_mean, running_var, num_batches_tracked;  ///< undefined when !track_running_stats
};
TORCH_MODULE(BatchNorm2d);

}  // namespace autotimm::layers
