#include "autotimm/layers/drop.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "autotimm/error.hpp"

namespace autotimm::layers {
namespace {

void check_probability(double p, const char* layer) {
  if (!(p >= 0.0 && p < 1.0)) {
    throw ConfigError(std::string(layer) + ": 'drop_prob': expected a probability in [0, 1), got " +
                      std::to_string(p));
  }
}

}  // namespace

at::Tensor drop_path(const at::Tensor& x, double drop_prob, bool training, bool scale_by_keep) {
  if (drop_prob == 0.0 || !training) return x;
  const double keep_prob = 1.0 - drop_prob;
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[0] = x.size(0);
  at::Tensor keep = x.new_empty(shape).bernoulli_(keep_prob);
  if (keep_prob > 0.0 && scale_by_keep) keep.div_(keep_prob);
  return x * keep;
}

DropPathImpl::DropPathImpl(DropPathOptions options_) : options(options_) {
  check_probability(options.drop_prob, "DropPath");
}

DropPathImpl::~DropPathImpl() = default;

at::Tensor DropPathImpl::forward(const at::Tensor& x) {
  return drop_path(x, options.drop_prob, is_training(), options.scale_by_keep);
}

void DropPathImpl::pretty_print(std::ostream& stream) const {
  stream << "autotimm::layers::DropPath(drop_prob=" << options.drop_prob << ")";
}

at::Tensor drop_block_fast_2d(const at::Tensor& x, double drop_prob, std::int64_t block_size, double gamma_scale) {
  const std::int64_t height = x.size(2), width = x.size(3);
  const std::int64_t clipped = std::min({block_size, width, height});
  const double total = static_cast<double>(width * height);
  // The seed rate that makes about drop_prob of the positions fall inside a dropped block (timm's formula, with the
  // unclipped block size in the valid-position count). A map smaller than the block would divide by zero there
  // (timm raises); the clipped size keeps the rate finite instead.
  const std::int64_t valid_size = block_size <= std::min(width, height) ? block_size : clipped;
  const double gamma = gamma_scale * drop_prob * total / static_cast<double>(clipped * clipped) /
                       static_cast<double>((width - valid_size + 1) * (height - valid_size + 1));
  at::Tensor mask = torch::empty_like(x).bernoulli_(gamma);
  mask = torch::max_pool2d(mask.to(x.scalar_type()), {clipped, clipped}, {1, 1}, {clipped / 2, clipped / 2});
  // An even block (a map smaller than block_size clips it to its own size) grows the mask by one row and column,
  // where timm fails on the shape mismatch; the extra row and column are cut off.
  mask = mask.narrow(2, 0, height).narrow(3, 0, width);
  mask = 1 - mask;
  const at::Tensor kept = mask.to(torch::kFloat32).sum().add(1e-6);
  const at::Tensor scale = (static_cast<double>(mask.numel()) / kept).to(x.scalar_type());
  return x * mask * scale;
}

DropBlock2dImpl::DropBlock2dImpl(DropBlock2dOptions options_) : options(options_) {
  check_probability(options.drop_prob, "DropBlock2d");
  if (options.block_size < 1) {
    throw ConfigError("DropBlock2d: 'block_size': expected at least 1, got " + std::to_string(options.block_size));
  }
}

DropBlock2dImpl::~DropBlock2dImpl() = default;

at::Tensor DropBlock2dImpl::forward(const at::Tensor& x) {
  if (!is_training() || options.drop_prob == 0.0) return x;
  return drop_block_fast_2d(x, options.drop_prob, options.block_size, options.gamma_scale);
}

void DropBlock2dImpl::pretty_print(std::ostream& stream) const {
  stream << "autotimm::layers::DropBlock2d(drop_prob=" << options.drop_prob << ", block_size=" << options.block_size
         << ")";
}

}  // namespace autotimm::layers
