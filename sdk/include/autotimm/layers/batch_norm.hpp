#pragma once
// BatchNorm2d with torch's parameters, buffers, state dict keys and numbers, which a distributed run can switch to
// synchronised statistics (as torch's SyncBatchNorm): while a SyncBatchNormScope is active on the thread, training
// batches are normalised with the mean and variance of the batch over every rank, and the gradients flow back across
// ranks. Families build their BatchNorm with this layer so the trainer's `sync_batchnorm` works on any model: C++
// modules cannot be swapped for other types inside their parents after the model is built. For the same reason
// inference can fold a BatchNorm into the convolution before it (autotimm::fold_batch_norm): the layer then keeps
// its place in the model but passes its input through.
//
//   autotimm::layers::BatchNorm2d bn(autotimm::layers::BatchNorm2dOptions{.num_features = 64});  // as torch
//   torch::Tensor y = bn(x);                                  // [N, 64, H, W]
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>
#include <vector>

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
  /// Folded into the convolution that feeds it (autotimm::fold_batch_norm): forward returns its input as it is, in
  /// eval mode only (a folded model is for inference: forward in training mode is a ConfigError). Not saved.
  bool folded = false;
};
TORCH_MODULE(BatchNorm2d);

/// While alive on this thread, every BatchNorm2d forward records the module and its input, in call order, before
/// anything else happens: fold_batch_norm reads which operation produced each input (its autograd node). Captures
/// nest; the innermost records.
///
///   autotimm::layers::BatchNormInputCapture capture;
///   model->forward(images);
///   for (const auto& call : capture.calls()) use(call.module, call.input);
class AUTOTIMM_API BatchNormInputCapture {
 public:
  struct Call {
    BatchNorm2dImpl* module = nullptr;
    at::Tensor input = {};
  };

  BatchNormInputCapture();
  ~BatchNormInputCapture();
  BatchNormInputCapture(const BatchNormInputCapture&) = delete;
  BatchNormInputCapture& operator=(const BatchNormInputCapture&) = delete;

  const std::vector<Call>& calls() const noexcept { return calls_; }
  void record(BatchNorm2dImpl* module, const at::Tensor& input) { calls_.push_back({module, input}); }
  /// The innermost capture alive on this thread, or nullptr.
  static BatchNormInputCapture* current() noexcept;

 private:
  std::vector<Call> calls_;
  BatchNormInputCapture* outer_;
};

}  // namespace autotimm::layers
