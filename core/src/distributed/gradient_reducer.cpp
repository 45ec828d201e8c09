// Bucketed gradient all-reduce overlapping the backward pass (see gradient_reducer.hpp).
#include "gradient_reducer.hpp"

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

#include <algorithm>

#include "autotimm/error.hpp"
#include "process_group.hpp"

namespace autotimm::distributed {

GradientReducer::GradientReducer(ProcessGroup& group, std::vector<torch::Tensor> parameters,
                                 std::vector<std::string> names, GradientReducerOptions options)
    : group_(group), parameters_(std::move(parameters)), names_(std::move(names)), options_(std::move(options)) {
  if (options_.compression != "none" && options_.compression != "fp16") {
    throw ConfigError("gradient_compression must be none or fp16, got '" + options_.compression + "'");
  }
  const std::size_t n = parameters_.size();
  bucket_of_.assign(n, 0);
  offset_of_.assign(n, 0);
  arrived_.assign(n, false);
  // Reverse order: the last layers' gradients come first in backward. A bucket holds one dtype and device.
  std::size_t bytes = 0;
  for (std::size_t k = n; k-- > 0;) {
    const auto& p = parameters_[k];
    const std::size_t size = static_cast<std::size_t>(p.numel()) * p.element_size();
    // The bucket being filled is the first one while there is one bucket: it is smaller, so communication starts early.
    const std::size_t cap = buckets_.size() == 1 ? options_.first_bucket_cap_bytes : options_.bucket_cap_bytes;
    const bool fits = !buckets_.empty() && bytes + size <= cap;
    const auto& head = buckets_.empty() ? p : parameters_[buckets_.back().members.front()];
    const bool same_kind = head.scalar_type() == p.scalar_type() && head.device() == p.device();
    if (!fits || !same_kind) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().members.push_back(k);
    bytes += size;
  }
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    auto& bucket = buckets_[b];
    std::int64_t elements = 0;
    for (const auto k : bucket.members) {
      bucket_of_[k] = b;
      offset_of_[k] = static_cast<std::size_t>(elements);
      elements += parameters_[k].numel();
    }
    const auto& first = parameters_[bucket.members.front()];
    bucket.flat = torch::zeros({elements}, first.options().requires_grad(false));
    if (options_.compression == "fp16" && first.is_floating_point()) bucket.wire = torch::zeros_like(bucket.flat, torch::kHalf);
  }
  for (std::size_t k = 0; k < n; ++k) {
    hooks_.push_back(parameters_[k].register_hook([this, k](const torch::Tensor& grad) { on_gradient(k, grad); }));
  }
}

GradientReducer::~GradientReducer() {
  for (std::size_t k = 0; k < hooks_.size(); ++k) parameters_[k].remove_hook(hooks_[k]);
  for (auto& bucket : buckets_) {
    if (!bucket.work) continue;
    try {
      bucket.work->wait();  // the buffers must outlive a collective still in flight
    } catch (const std::exception&) {
      // the run is failing already
    }
  }
}

torch::Tensor GradientReducer::slot(std::size_t index) const {
  const auto& p = parameters_[index];
  return buckets_[bucket_of_[index]].flat.narrow(0, static_cast<std::int64_t>(offset_of_[index]), p.numel()).view(p.sizes());
}

void GradientReducer::arm() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::fill(arrived_.begin(), arrived_.end(), false);
  for (auto& bucket : buckets_) {
    bucket.pending = bucket.members.size();
    bucket.work.reset();
  }
  next_launch_ = 0;
  armed_ = true;
}

void GradientReducer::on_gradient(std::size_t index, const torch::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_ || arrived_[index]) return;
  arrived_[index] = true;
  // The hook sees this pass's gradient before autograd adds it to .grad: the bucket gets the sum, i.e. what .grad
  // will hold, including what steps that did not sync accumulated.
  torch::NoGradGuard no_grad;
  const auto& accumulated = parameters_[index].grad();
  if (accumulated.defined()) {
    auto target = slot(index);
    torch::add_out(target, accumulated, grad);
  } else {
    slot(index).copy_(grad);
  }
  if (--buckets_[bucket_of_[index]].pending == 0) launch_ready_buckets();
}

void GradientReducer::launch_ready_buckets() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) launch(buckets_[next_launch_++]);
}

void GradientReducer::launch(Bucket& bucket) {
  bucket.flat.div_(group_.world_size());
  if (bucket.wire.defined()) bucket.wire.copy_(bucket.flat);
  std::vector<torch::Tensor> tensors{bucket.wire.defined() ? bucket.wire : bucket.flat};
  bucket.work = group_.guarded("gradient all-reduce", [&] { return group_.backend().allreduce(tensors); });
}

void GradientReducer::finish() {
  std::vector<std::size_t> missing;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!armed_) return;
    armed_ = false;
    // Parameters backward did not reach: their current gradient (or zero) goes in, so every rank sends every bucket.
    torch::NoGradGuard no_grad;
    for (std::size_t k = 0; k < parameters_.size(); ++k) {
      if (arrived_[k]) continue;
      missing.push_back(k);
      const auto& grad = parameters_[k].grad();
      grad.defined() ? slot(k).copy_(grad) : slot(k).zero_();
      --buckets_[bucket_of_[k]].pending;
    }
    launch_ready_buckets();
  }
  // Which parameters some rank used: agreed before anyone decides.
  torch::Tensor used_anywhere;
  if (options_.find_unused_parameters) {
    std::vector<torch::Tensor> used{torch::zeros({static_cast<std::int64_t>(parameters_.size())}, torch::kInt32)};
    auto flags = used[0].accessor<std::int32_t, 1>();
    for (std::size_t k = 0; k < parameters_.size(); ++k) flags[static_cast<std::int64_t>(k)] = arrived_[k] ? 1 : 0;
    group_.all_reduce_sum(used);
    used_anywhere = used[0];
  }
  for (auto& bucket : buckets_) {
    group_.guarded("gradient all-reduce", [&] { bucket.work->wait(); });
    bucket.work.reset();
    if (bucket.wire.defined()) bucket.flat.copy_(bucket.wire);
  }
  torch::NoGradGuard no_grad;
  for (std::size_t k = 0; k < parameters_.size(); ++k) {
    if (!arrived_[k] && used_anywhere.defined() && used_anywhere[static_cast<std::int64_t>(k)].item<int>() == 0) {
      continue;  // no rank used it: its gradient stays as it was
    }
    auto& p = parameters_[k];
    if (p.grad().defined()) {
      p.mutable_grad().copy_(slot(k));
    } else {
      p.mutable_grad() = slot(k).clone();
    }
  }
  if (!missing.empty() && !options_.find_unused_parameters) {
    std::string list;
    for (std::size_t i = 0; i < missing.size() && i < 5; ++i) list += (i ? ", " : "") + names_[missing[i]];
    throw TrainingError("distributed: " + std::to_string(missing.size()) + " trainable parameter(s) got no gradient "
                        "in this step (" + list + (missing.size() > 5 ? ", …" : "") + "); set the trainer's "
                        "find_unused_parameters option when parts of the model may go unused, or freeze them");
  }
}

}  // namespace autotimm::distributed
