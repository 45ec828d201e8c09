#include "autotimm/interpret/attention_rollout.hpp"

#include <torch/torch.h>

#include <string>
#include <vector>

#include "autotimm/error.hpp"
#include "autotimm/eval_mode_guard.hpp"
#include "autotimm/interpret/heatmap_image.hpp"
#include "autotimm/layers/attention.hpp"

namespace autotimm::interpret {
namespace {

std::string name_of(const Backbone& backbone) {
  const std::string& architecture = backbone.pretrained_cfg().architecture;
  return architecture.empty() ? backbone.name() : architecture;
}

std::string shape_of(const at::Tensor& tensor) {
  std::string text = "[";
  for (std::int64_t d = 0; d < tensor.dim(); ++d) text += (d ? ", " : "") + std::to_string(tensor.size(d));
  return text + "]";
}

/// [N, heads, L, L] → [N, L, L].
at::Tensor fuse_heads(const at::Tensor& weights, const std::string& head_fusion) {
  if (head_fusion == "mean") return weights.mean(1);
  if (head_fusion == "max") return std::get<0>(weights.max(1));
  return std::get<0>(weights.min(1));
}

/// The lowest `discard_ratio` share of each image's L·L weights set to 0 (ties: the first in row-major order go
/// first), never entry (0, 0), the class token's attention to itself, when there is a class token.
at::Tensor discard_lowest(const at::Tensor& fused, double discard_ratio, bool class_token) {
  const std::int64_t batch = fused.size(0);
  auto flat = fused.reshape({batch, -1}).clone();
  const auto count = static_cast<std::int64_t>(discard_ratio * static_cast<double>(flat.size(1)));
  if (count == 0) return fused;
  const auto order = std::get<1>(flat.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false));
  auto drop = torch::zeros_like(flat, torch::kBool);
  drop.scatter_(1, order.narrow(1, 0, count), true);
  if (class_token) drop.select(1, 0).fill_(false);
  flat.masked_fill_(drop, 0.0);
  return flat.reshape(fused.sizes());
}

}  // namespace

at::Tensor attention_rollout(Backbone& backbone, const at::Tensor& images, const AttentionRolloutOptions& options) {
  const std::string where = "attention_rollout on '" + name_of(backbone) + "'";
  if (options.head_fusion != "mean" && options.head_fusion != "max" && options.head_fusion != "min") {
    throw ConfigError(where + ": head_fusion '" + options.head_fusion + "' is unknown; expected mean, max or min");
  }
  if (!(options.discard_ratio >= 0.0 && options.discard_ratio < 1.0)) {
    throw ConfigError(where + ": discard_ratio must lie in [0, 1), got " + std::to_string(options.discard_ratio));
  }
  if (!images.defined() || images.dim() != 4) {
    throw ConfigError(where + ": expected images [N, C, H, W], got " +
                      (images.defined() ? shape_of(images) : std::string("an undefined tensor")));
  }
  const std::int64_t batch = images.size(0);
  const std::int64_t height = images.size(2);
  const std::int64_t width = images.size(3);

  std::vector<at::Tensor> weights;
  {
    torch::NoGradGuard no_grad;
    EvalModeGuard eval(backbone);
    layers::AttentionCapture capture;
    // forward_features holds the blocks; a head's attention pooling (if a family had one) is not part of the rollout.
    backbone.forward_features(images);
    weights = capture.weights();
  }
  if (weights.empty()) {
    throw ConfigError(where + ": the backbone has no attention blocks (layers::Attention), so there is no attention "
                      "to roll out; Attention Rollout needs a ViT-style backbone, use gradcam for CNNs");
  }
  const std::int64_t tokens = weights.front().size(-1);
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const auto& w = weights[i];
    if (w.dim() != 4 || w.size(0) != batch || w.size(2) != tokens || w.size(3) != tokens) {
      throw ConfigError(where + ": attention block " + std::to_string(i) + " has weights " + shape_of(w) +
                        ", expected [" + std::to_string(batch) + ", heads, " + std::to_string(tokens) + ", " +
                        std::to_string(tokens) +
                        "]: rollout needs global attention over the same tokens in every block (windowed "
                        "attention as in Swin cannot be rolled out); use gradcam instead");
    }
  }
  // The patch grid: the last stage's reduction is the patch size; a padded input (dynamic_img_pad) rounds up.
  const auto& stages = backbone.feature_info();
  if (stages.empty()) throw ConfigError(where + ": the backbone reports no feature_info stages");
  const std::int64_t patch = stages.back().reduction;
  const std::int64_t grid_h = (height + patch - 1) / patch;
  const std::int64_t grid_w = (width + patch - 1) / patch;
  const std::int64_t prefix = tokens - grid_h * grid_w;
  if (patch <= 0 || prefix < 0) {
    throw ConfigError(where + ": " + std::to_string(tokens) + " tokens do not cover a " + std::to_string(grid_h) +
                      " x " + std::to_string(grid_w) + " patch grid (patch size " + std::to_string(patch) +
                      " from feature_info); is this a plain ViT?");
  }
  bool class_token = false;
  for (const auto& parameter : backbone.named_parameters(/*recurse=*/false)) {
    if (parameter.key() == "cls_token") class_token = true;
  }
  class_token = class_token && prefix > 0;

  // In double precision: the products of many near-uniform matrices, then a min-max normalisation, amplify rounding.
  torch::NoGradGuard no_grad;
  at::Tensor rollout;
  for (const auto& w : weights) {
    auto fused = fuse_heads(w.detach().to(torch::kDouble), options.head_fusion);  // [N, L, L]
    if (options.discard_ratio > 0.0) fused = discard_lowest(fused, options.discard_ratio, class_token);
    auto a = fused + torch::eye(tokens, fused.options()).unsqueeze(0);
    a = a / a.sum(-1, /*keepdim=*/true);
    rollout = rollout.defined() ? torch::matmul(a, rollout) : a;
  }
  // What flows into the class token from each patch; without a class token, into the patch tokens on average.
  const at::Tensor rows =
      class_token ? rollout.select(1, 0) : rollout.narrow(1, prefix, tokens - prefix).mean(1);  // [N, L]
  const at::Tensor grid = rows.narrow(1, prefix, tokens - prefix).reshape({batch, grid_h, grid_w});
  const at::Tensor full = resize_heatmap(grid, grid_h * patch, grid_w * patch)
                              .narrow(1, 0, height)
                              .narrow(2, 0, width);  // a padded input's padding (bottom, right) cut off
  const auto dtype = images.is_floating_point() ? images.scalar_type() : torch::kFloat;
  return normalize_heatmap(full.contiguous()).to(dtype);
}

}  // namespace autotimm::interpret
