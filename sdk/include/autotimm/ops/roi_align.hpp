#pragma once
// RoIAlign (He et al., Mask R-CNN) with torchvision.ops.roi_align's exact rules, the FPN level of a box (Lin et al.,
// FPN eq. 1, torchvision's LevelMapper), and the multi-level pooling that the instance segmentor's mask head reads.
//
//   auto rois = torch::cat({batch_index.unsqueeze(1).to(torch::kFloat), boxes}, 1);         // [K, 5]
//   auto pooled = autotimm::ops::multi_scale_roi_align(fpn_features, {8, 16, 32}, rois, 14); // [K, C, 14, 14]
//
// CPU float/double tensors go through a C++ kernel (forward and backward, parallel over rois, channels); other devices
// go through roi_align_reference, built from ATen ops, whose gradient autograd derives. Both give the same values.
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"

namespace autotimm::ops {

/// Average of bilinear samples over each of output_height × output_width bins of every roi.
///
/// `input` [N, C, H, W] floating; `rois` [K, 5] = (batch index, x1, y1, x2, y2) in input-image coordinates (converted
/// to input's dtype); `spatial_scale` maps them onto the feature map (1 / stride). Returns [K, C, output_height,
/// output_width]. Rules, as torchvision's:
/// - the roi is scaled, then shifted by −0.5 when `aligned` (pixel centres at half-integers); without `aligned` its
///   width and height are forced to at least 1;
/// - each bin has sampling_ratio × sampling_ratio regularly spaced samples, or, for `sampling_ratio` <= 0,
///   ceil(roi_height / output_height) × ceil(roi_width / output_width) (a bin of an empty, NaN or infinite roi is 0;
///   at most 1024 per side, which only garbage boxes reach); the bin is their mean;
/// - a sample with y outside [−1, H] or x outside [−1, W] contributes 0; others are clamped to [0, H − 1] × [0, W − 1]
///   and interpolated bilinearly.
/// Differentiable with respect to `input` (not `rois`; the gradient is not itself differentiable on the CPU path).
/// ConfigError for shapes, a batch index that is not a whole number in [0, N) (checked on the host: one [K] copy),
/// non-positive output sizes or spatial scale, rois on another device, and CPU dtypes other than float and double.
AUTOTIMM_API at::Tensor roi_align(const at::Tensor& input, const at::Tensor& rois, std::int64_t output_height,
                                  std::int64_t output_width, double spatial_scale, std::int64_t sampling_ratio,
                                  bool aligned);

/// The same operation written with ATen ops on any device (bilinear samples through grid_sample with border padding,
/// masked to the valid and used sample points, then averaged per bin); autograd gives its gradient. roi_align runs it
/// for non-CPU tensors; tests hold it equal to the CPU kernel. Memory: K × C × (output × samples per side)² values.
AUTOTIMM_API at::Tensor roi_align_reference(const at::Tensor& input, const at::Tensor& rois,
                                            std::int64_t output_height, std::int64_t output_width,
                                            double spatial_scale, std::int64_t sampling_ratio, bool aligned);

/// FPN level of each xyxy box ([K, 4], image pixels): floor(canonical_level + log2(sqrt(area) / canonical_size +
/// 1e-6)), clamped to [min_level, max_level], returned as int64 (level − min_level) [K]. Empty and flipped boxes
/// (area <= 0) go to min_level.
AUTOTIMM_API at::Tensor roi_levels(const at::Tensor& boxes, std::int64_t min_level, std::int64_t max_level,
                                   double canonical_size = 224, std::int64_t canonical_level = 4);

/// RoIAlign of each roi on the FPN level its box size maps to (roi_levels over the levels present).
/// `features[i]` [N, C, H_i, W_i] has stride `strides[i]`, a power of two (level log2(stride)); the levels must be
/// distinct and consecutive, in any order. `rois` [K, 5] as for roi_align. Returns [K, C, output_size, output_size]
/// in the rois' order, pooled with spatial_scale 1 / stride. K = 0 gives an empty [0, C, S, S].
AUTOTIMM_API at::Tensor multi_scale_roi_align(const std::vector<at::Tensor>& features, const std::vector<double>& strides,
                                              const at::Tensor& rois, std::int64_t output_size,
                                              std::int64_t sampling_ratio = 2, bool aligned = true,
                                              double canonical_size = 224, std::int64_t canonical_level = 4);

}  // namespace autotimm::ops
