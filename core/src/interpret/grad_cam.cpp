// GradCAM and GradCAM++ on a backbone stage recorded by StageCapture.
#include "autotimm/interpret/grad_cam.hpp"

#include <torch/torch.h>

#include <charconv>
#include <optional>
#include <string>

#include "autotimm/error.hpp"
#include "autotimm/interpret/heatmap_image.hpp"
#include "autotimm/stage_capture.hpp"

namespace autotimm::interpret {
namespace {

std::string stage_list(const Backbone& backbone) {
  std::string text;
  const auto& info = backbone.feature_info();
  for (std::size_t i = 0; i < info.size(); ++i) {
    if (!text.empty()) text += ", ";
    text += std::to_string(i) + ": " + info[i].module + " (" + std::to_string(info[i].num_chs) + " ch, stride " +
            std::to_string(info[i].reduction) + ")";
  }
  return text;
}

/// An integer written in full ("-1", "2"), or nothing.
std::optional<std::int64_t> whole_number(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [next, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || next != end || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::string_view cam_variant_name(CamVariant variant) {
  return variant == CamVariant::gradcampp ? "gradcampp" : "gradcam";
}

std::int64_t resolve_target_layer(const Backbone& backbone, std::string_view layer) {
  const auto& info = backbone.feature_info();
  const auto stages = static_cast<std::int64_t>(info.size());
  if (stages == 0) throw ConfigError("GradCAM: the backbone reports no feature_info stages to take a target layer from");
  if (layer.empty()) return stages - 1;
  if (const auto index = whole_number(layer)) {
    const std::int64_t resolved = *index < 0 ? *index + stages : *index;
    if (resolved >= 0 && resolved < stages) return resolved;
  } else {
    for (std::int64_t i = 0; i < stages; ++i) {
      if (info[static_cast<std::size_t>(i)].module == layer) return i;
    }
  }
  throw ConfigError("GradCAM: unknown target layer '" + std::string(layer) + "': expected a stage's module name or "
                    "index (negative from the end); the backbone's stages are " + stage_list(backbone));
}

at::Tensor activation_to_grid(const at::Tensor& activation, StageLayout layout, std::int64_t reduction,
                              std::int64_t height, std::int64_t width) {
  if (layout != StageLayout::tokens) return stage_output_as_nchw(activation, layout);
  // Tokens: the patch grid of a padded input (rounded up) when the tokens cover it, else the rounded-down one.
  if (activation.dim() == 3 && reduction > 0) {
    for (const bool round_up : {true, false}) {
      const std::int64_t h = round_up ? (height + reduction - 1) / reduction : height / reduction;
      const std::int64_t w = round_up ? (width + reduction - 1) / reduction : width / reduction;
      if (h > 0 && w > 0 && activation.size(1) >= h * w) return stage_output_as_nchw(activation, layout, h, w);
    }
  }
  throw ConfigError("GradCAM: the target layer's tokens " + c10::str(activation.sizes()) + " do not cover the patch "
                    "grid of " + std::to_string(height) + "x" + std::to_string(width) + " images at stride " +
                    std::to_string(reduction) + "; choose another --target-layer");
}

at::Tensor cam_from_gradients(const at::Tensor& activations, const at::Tensor& gradients, CamVariant variant) {
  TORCH_CHECK(activations.sizes() == gradients.sizes() && activations.dim() == 4,
              "cam_from_gradients: activations and gradients must both be [N, C, h, w]");
  const auto a = activations.to(torch::kFloat32);
  const auto g = gradients.to(torch::kFloat32);
  torch::Tensor weights;
  if (variant == CamVariant::gradcam) {
    weights = g.mean({2, 3}, /*keepdim=*/true);
  } else {
    const auto g2 = g * g;
    const auto g3 = g2 * g;
    const auto denominator = 2.0 * g2 + a.sum({2, 3}, /*keepdim=*/true) * g3;
    const auto alpha = torch::where(denominator != 0, g2 / torch::where(denominator != 0, denominator, 1.0),
                                    torch::zeros_like(g2));
    weights = (alpha * torch::relu(g)).sum({2, 3}, /*keepdim=*/true);
  }
  return torch::relu((weights * a).sum(1));
}

at::Tensor upsample_and_scale(const at::Tensor& maps, std::int64_t height, std::int64_t width) {
  TORCH_CHECK(maps.dim() == 3, "upsample_and_scale: expected maps [N, h, w]");
  return normalize_heatmap(resize_heatmap(maps.to(torch::kFloat32), height, width));
}

CamResult grad_cam(const Backbone& backbone, const ScoreFunction& score, const at::Tensor& images,
                   const GradCamOptions& options) {
  if (images.dim() != 4) {
    throw ConfigError("GradCAM: expected images [N, 3, H, W], got " + c10::str(images.sizes()));
  }
  const std::int64_t index = resolve_target_layer(backbone, options.target_layer);
  const FeatureInfo& stage = backbone.feature_info()[static_cast<std::size_t>(index)];
  torch::AutoGradMode grad_mode(true);
  StageCapture capture(backbone, index);
  // The input takes part in the graph, so the stage has a gradient even when every parameter is frozen.
  const auto input = images.detach().requires_grad_(true);
  const auto scores = score(input);
  if (!capture.reached()) {
    throw ConfigError("GradCAM: the forward never passed stage " + std::to_string(index) + " ('" + stage.module +
                      "') of the backbone: its family does not report its stages, or this task runs the backbone "
                      "around forward_features (dense tasks use forward_intermediates); use Integrated Gradients "
                      "(--method ig) instead");
  }
  if (scores.dim() != 1 || scores.size(0) != images.size(0)) {
    throw ConfigError("GradCAM: the score function returned shape " + c10::str(scores.sizes()) + ", expected [" +
                      std::to_string(images.size(0)) + "], one score per image");
  }
  const at::Tensor& activation = capture.output();
  const auto gradient = torch::autograd::grad({scores.sum()}, {activation}, {}, /*retain_graph=*/false,
                                              /*create_graph=*/false, /*allow_unused=*/true)[0];
  const auto grid = activation_to_grid(activation.detach(), capture.layout(), stage.reduction, images.size(2),
                                       images.size(3));
  const auto grid_gradient =
      gradient.defined()
          ? activation_to_grid(gradient, capture.layout(), stage.reduction, images.size(2), images.size(3))
          : torch::zeros_like(grid);
  CamResult result;
  result.cam = cam_from_gradients(grid, grid_gradient, options.variant);
  result.heatmap = upsample_and_scale(result.cam, images.size(2), images.size(3));
  result.scores = scores.detach();
  result.layer = stage.module;
  result.layer_index = index;
  return result;
}

}  // namespace autotimm::interpret
