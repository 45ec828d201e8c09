#include "autotimm/layers/batch_norm.hpp"

#include <torch/torch.h>

#include "autotimm/distributed/sync_batch_norm.hpp"
#include "autotimm/error.hpp"

namespace autotimm {

namespace {
thread_local Collective* t_sync_ranks = nullptr;
}  // namespace

SyncBatchNormScope::SyncBatchNormScope(Collective& ranks) : previous_(t_sync_ranks) { t_sync_ranks = &ranks; }
SyncBatchNormScope::~SyncBatchNormScope() { t_sync_ranks = previous_; }
Collective* SyncBatchNormScope::current() { return t_sync_ranks; }

namespace layers {

namespace {

thread_local BatchNormInputCapture* t_input_capture = nullptr;

/// A sum over ranks that autograd can go through: every rank's loss depends on every rank's input, so the gradient
/// of the sum is the sum of the ranks' gradients.
struct AllReduceSum : torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, std::int64_t ranks) {
    ctx->saved_data["ranks"] = ranks;
    std::vector<torch::Tensor> sum{x.clone()};
    reinterpret_cast<Collective*>(ranks)->all_reduce_sum(sum);
    return sum[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* ranks = reinterpret_cast<Collective*>(ctx->saved_data["ranks"].toInt());
    std::vector<torch::Tensor> sum{grads[0].contiguous().clone()};
    ranks->all_reduce_sum(sum);
    return {sum[0], torch::Tensor()};
  }
};

}  // namespace

BatchNorm2dImpl::BatchNorm2dImpl(BatchNorm2dOptions options_) : options(options_) {
  if (options.num_features < 1) {
    throw ConfigError("BatchNorm2d: 'num_features': expected at least 1, got " + std::to_string(options.num_features));
  }
  if (!(options.eps > 0.0)) throw ConfigError("BatchNorm2d: 'eps': expected > 0, got " + std::to_string(options.eps));
  if (options.affine) {
    weight = register_parameter("weight", torch::ones({options.num_features}));
    bias = register_parameter("bias", torch::zeros({options.num_features}));
  }
  if (options.track_running_stats) {
    running_mean = register_buffer("running_mean", torch::zeros({options.num_features}));
    running_var = register_buffer("running_var", torch::ones({options.num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kInt64));
  }
}

BatchNorm2dImpl::~BatchNorm2dImpl() = default;

BatchNormInputCapture::BatchNormInputCapture() : outer_(t_input_capture) { t_input_capture = this; }
BatchNormInputCapture::~BatchNormInputCapture() { t_input_capture = outer_; }
BatchNormInputCapture* BatchNormInputCapture::current() noexcept { return t_input_capture; }

void BatchNorm2dImpl::reset_running_stats() {
  if (!options.track_running_stats) return;
  torch::NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1);
  num_batches_tracked.zero_();
}

at::Tensor BatchNorm2dImpl::forward(const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options.num_features, "BatchNorm2d(", options.num_features,
              "): expected [N, ", options.num_features, ", H, W], got ", x.sizes());
  if (t_input_capture != nullptr) t_input_capture->record(this, x);
  if (folded) {
    if (is_training()) {
      throw ConfigError("BatchNorm2d(" + std::to_string(options.num_features) +
                        "): folded into its convolution for inference, so it cannot train; rebuild or reload the "
                        "model to train it");
    }
    return x;
  }
  // torch's rule for the running-average weight.
  double factor = 0.0;
  if (is_training() && options.track_running_stats) {
    torch::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
    factor = options.momentum ? *options.momentum : 1.0 / static_cast<double>(num_batches_tracked.item<std::int64_t>());
  }
  const bool batch_stats = is_training() || !options.track_running_stats;
  Collective* ranks = SyncBatchNormScope::current();
  if (!batch_stats || ranks == nullptr || ranks->world_size() == 1) {
    return torch::batch_norm(x, weight, bias, running_mean, running_var, batch_stats, factor, options.eps,
                             at::globalContext().userEnabledCuDNN());
  }
  // Synchronised: each rank's count, sum and sum of squares (from its own accurate mean and variance, combined in
  // float64 so the difference of squares does not cancel), summed over ranks.
  const std::int64_t channels = options.num_features;
  const auto xf = x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kFloat64 ? x : x.to(torch::kFloat32);
  const auto [local_var, local_mean] = torch::var_mean(xf, {0, 2, 3}, /*unbiased=*/false);
  const double count = static_cast<double>(x.numel() / channels);
  const auto mean64 = local_mean.to(torch::kFloat64), var64 = local_var.to(torch::kFloat64);
  auto stats = torch::cat({mean64 * count, (var64 + mean64 * mean64) * count,
                           torch::full({1}, count, torch::dtype(torch::kFloat64).device(x.device()))});
  stats = AllReduceSum::apply(stats, reinterpret_cast<std::int64_t>(ranks));
  const auto total = stats.narrow(0, 2 * channels, 1).detach();
  const auto mean = stats.narrow(0, 0, channels) / total;
  const auto var = (stats.narrow(0, channels, channels) / total - mean * mean).clamp_min(0.0);
  if (options.track_running_stats) {
    torch::NoGradGuard no_grad;
    const double n = total.item<double>();
    running_mean.mul_(1.0 - factor).add_(mean.to(running_mean.scalar_type()), factor);
    running_var.mul_(1.0 - factor).add_((var * (n / std::max(n - 1.0, 1.0))).to(running_var.scalar_type()), factor);
  }
  const auto shape = std::vector<std::int64_t>{1, channels, 1, 1};
  const auto scale = torch::rsqrt(var + options.eps).to(xf.scalar_type()).view(shape);
  auto y = (xf - mean.to(xf.scalar_type()).view(shape)) * scale;
  if (options.affine) y = y * weight.to(xf.scalar_type()).view(shape) + bias.to(xf.scalar_type()).view(shape);
  return y.to(x.scalar_type());
}

void BatchNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << "autotimm::layers::BatchNorm2d(" << options.num_features << ", eps=" << options.eps << ", momentum=";
  if (options.momentum) {
    stream << *options.momentum;
  } else {
    stream << "None";
  }
  stream << ", affine=" << (options.affine ? "true" : "false")
         << ", track_running_stats=" << (options.track_running_stats ? "true" : "false")
         << (folded ? ", folded into its convolution" : "") << ")";
}

}  // namespace layers
}  // namespace autotimm
