#pragma once
// Averages gradients across ranks while the backward pass is still running, as PyTorch's DistributedDataParallel
// does: the trainable parameters are packed, in reverse registration order (roughly the order backward produces
// them), into buckets of at most 25 MB (the first 1 MB, so communication starts early); a bucket whose gradients are
// all there is all-reduced asynchronously on Gloo's threads while autograd goes on. Buckets leave in index order on
// every rank, so the collectives match. Steps that accumulate gradients without syncing simply do not arm it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <c10/util/intrusive_ptr.h>
#include <torch/types.h>

namespace c10d {
class Work;
}

namespace autotimm::distributed {

class ProcessGroup;

struct GradientReducerOptions {
  std::size_t bucket_cap_bytes = 25u << 20;
  std::size_t first_bucket_cap_bytes = 1u << 20;
  /// Parameters may get no gradient in a step (branches not taken): their use is agreed across ranks each step.
  /// Off, a parameter without a gradient is an error (one small collective per step saved).
  bool find_unused_parameters = false;
  /// "fp16": buckets travel as float16 (half the bytes; averaged before the cast, as torch's fp16_compress_hook, so
  /// only gradients beyond ±65504 × ranks overflow), summed in float16 and widened back. "none": as they are.
  std::string compression = "none";
};

class GradientReducer {
 public:
  /// `parameters`: the trainable ones, with their names for messages. Registers a gradient hook on each.
  GradientReducer(ProcessGroup& group, std::vector<torch::Tensor> parameters, std::vector<std::string> names,
                  GradientReducerOptions options = {});
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  /// The next backward pass's gradients are averaged across ranks (call before it).
  void arm();
  /// After that backward pass: launches what is left, waits for every bucket and writes the averages into .grad.
  void finish();
  std::size_t num_buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<std::size_t> members;  // parameter indices
    torch::Tensor flat;                // their gradients, one after another
    torch::Tensor wire;                // flat as float16, when compressing
    std::size_t pending = 0;           // members whose gradient has not arrived in this pass
    c10::intrusive_ptr<c10d::Work> work;
  };
  void on_gradient(std::size_t index, const torch::Tensor& grad);
  void launch_ready_buckets();  // in index order, as far as complete buckets go
  void launch(Bucket& bucket);
  torch::Tensor slot(std::size_t index) const;

  ProcessGroup& group_;
  std::vector<torch::Tensor> parameters_;
  std::vector<std::string> names_;
  GradientReducerOptions options_;
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_, offset_of_;  // per parameter
  std::vector<bool> arrived_;
  std::vector<unsigned> hooks_;
  std::size_t next_launch_ = 0;
  bool armed_ = false;
  std::mutex mutex_;  // autograd may run hooks on its device threads
};

}  // namespace autotimm::distributed
