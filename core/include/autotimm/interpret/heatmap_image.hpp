#pragma once
// Showing explanations: a heatmap scaled to [0, 1], coloured with a colormap and blended over the image it explains.
//
//   auto heat = autotimm::interpret::normalize_heatmap(cam);                         // [H, W] in [0, 1]
//   autotimm::Image png = autotimm::interpret::overlay_heatmap(image, heat, 0.5, Colormap::viridis);
#include <cstdint>
#include <string_view>

#include <ATen/core/Tensor.h>

#include "autotimm/data/image.hpp"
#include "autotimm/export.hpp"

namespace autotimm::interpret {

/// jet: blue → cyan → yellow → red, the classic CAM look; viridis and inferno: perceptually uniform (matplotlib's
/// tables), readable in gray print; gray: intensity only.
enum class Colormap { jet, viridis, inferno, gray };

/// "jet", "viridis", "inferno" or "gray"; ConfigError naming the known ones otherwise.
AUTOTIMM_API Colormap parse_colormap(std::string_view name);
AUTOTIMM_API std::string_view colormap_name(Colormap colormap);

/// Each map of [..., H, W] scaled to [0, 1] by its own min and max (all zeros where a map is constant). Float result
/// (double stays double), on the input's device.
AUTOTIMM_API at::Tensor normalize_heatmap(const at::Tensor& heatmap);

/// Maps [..., h, w] resized bilinearly (align_corners false, as timm and torchvision resize) to [..., height, width],
/// floating point (integer maps become float); returned as they are when already that size. ConfigError when not at
/// least 2-D or a size is not positive.
AUTOTIMM_API at::Tensor resize_heatmap(const at::Tensor& heatmap, std::int64_t height, std::int64_t width);

/// [H, W] float in [0, 1] (clamped) → [H, W, 3] uint8 RGB, on the CPU.
AUTOTIMM_API at::Tensor apply_colormap(const at::Tensor& heatmap, Colormap colormap = Colormap::jet);

/// `heatmap` [h, w] (any size: resized bilinearly to the image, then normalised) coloured and blended over `image`
/// (8-bit RGB or gray): out = (1 - alpha) * image + alpha * colour, rounded. Returns an RGB Image of image's size.
/// ConfigError when alpha is outside [0, 1], the image is empty or has 2 or 4+ channels, or the heatmap is not 2-D.
AUTOTIMM_API Image overlay_heatmap(const Image& image, const at::Tensor& heatmap, double alpha = 0.5,
                                   Colormap colormap = Colormap::jet);

}  // namespace autotimm::interpret
