#pragma once
// GradCAM and GradCAM++: where in a feature map the evidence for a score lies. The target layer is a stage of the
// backbone's feature_info (recorded with StageCapture, so no forward hooks are needed); its activations A [N, C, h, w]
// and the gradient G of the score with respect to them give a map ReLU(sum_c w_c A_c):
//   GradCAM (Selvaraju et al. 2017):   w_c = mean over the map of G_c
//   GradCAM++ (Chattopadhay et al. 2018): w_c = sum over the map of alpha · ReLU(G_c), with
//     alpha = G² / (2 G² + (sum over the map of A_c) · G³), the closed form for an exponential score.
//
//   auto score = autotimm::interpret::classifier_target(model, 3);        // targets.hpp
//   auto cam = autotimm::interpret::grad_cam(*model.backbone(), score, images, {.target_layer = "layer3"});
//   cam.heatmap;  // [N, H, W] in [0, 1] at the input's resolution
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <ATen/core/Tensor.h>

#include "autotimm/backbone.hpp"
#include "autotimm/export.hpp"
#include "autotimm/interpret/score_function.hpp"

namespace autotimm::interpret {

enum class CamVariant { gradcam, gradcampp };

struct GradCamOptions {
  /// A feature_info stage: its module name ("layer3", "stages.2", "blocks.11") or index ("-1" is the last, "0" the
  /// first); "" takes the last stage, the deepest map with spatial layout.
  std::string target_layer = "";
  CamVariant variant = CamVariant::gradcam;
};

struct CamResult {
  at::Tensor heatmap;  ///< [N, H, W] float32 in [0, 1]: the cam upsampled (bilinear) to the input and min-max scaled
  at::Tensor cam;      ///< [N, h, w] float32: the raw map at the layer's resolution, after the ReLU, unscaled
  at::Tensor scores;   ///< [N] the explained scores (detached)
  std::string layer;   ///< the module name of the stage used
  std::int64_t layer_index = 0;  ///< its feature_info index
};

/// The feature_info index `layer` names (see GradCamOptions::target_layer). ConfigError listing the stages (index,
/// module, channels, stride) for a name or index the backbone does not have.
AUTOTIMM_API std::int64_t resolve_target_layer(const Backbone& backbone, std::string_view layer);

/// Stage output `activation` in the layout its family reported (StageCapture::layout: NCHW; NHWC as Swin; [N, L, D]
/// tokens with prefix tokens first as ViT) as a map [N, C, h, w]. Tokens fill the patch grid of images of `height` ×
/// `width` at stride `reduction` (rounded up as a padded input's when the tokens cover that, else down). ConfigError
/// when the shape does not fit.
AUTOTIMM_API at::Tensor activation_to_grid(const at::Tensor& activation, StageLayout layout, std::int64_t reduction,
                                           std::int64_t height, std::int64_t width);

/// The cam [N, h, w] (after the ReLU) of activations [N, C, h, w] and their gradients (same shape).
AUTOTIMM_API at::Tensor cam_from_gradients(const at::Tensor& activations, const at::Tensor& gradients,
                                           CamVariant variant);

/// GradCAM (or GradCAM++) of `score` on `images` [N, 3, H, W] (the model's normalised input). `score` must run
/// `backbone`'s forward_features (a classifier's forward does); ConfigError when the stage was never reached (a
/// family that does not report its stages, or a task whose forward goes around forward_features).
AUTOTIMM_API CamResult grad_cam(const Backbone& backbone, const ScoreFunction& score, const at::Tensor& images,
                                const GradCamOptions& options = {});

/// Each map of [N, h, w] bilinearly resized to height × width and scaled to [0, 1] by its own min and max (zeros
/// where a map is constant).
AUTOTIMM_API at::Tensor upsample_and_scale(const at::Tensor& maps, std::int64_t height, std::int64_t width);

AUTOTIMM_API std::string_view cam_variant_name(CamVariant variant);

}  // namespace autotimm::interpret
