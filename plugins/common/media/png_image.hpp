#pragma once
// Image tensors as PNG bytes, for loggers that store or upload images (TensorBoard summaries, MLflow artifacts,
// W&B media files).
#include <string>
#include <string_view>

namespace at {
class Tensor;
}

namespace autotimm::media {

struct PngImage {
  int height = 0;
  int width = 0;
  int channels = 3;  ///< 1 (gray) or 3 (RGB)
  std::string png = {};
};

/// `image`: RGB [3, H, W] or [H, W, 3], gray [1, H, W], [H, W, 1] or [H, W]; uint8 (other integer types are clamped
/// to 0..255, bool is 0 or 255) or floating point in [0, 1] (clamped, scaled by 255 and rounded; NaN as 0).
/// ConfigError starting with `context` ("tensorboard logger: log_image 'samples'") for any other shape.
PngImage encode_png(const at::Tensor& image, std::string_view context);

}  // namespace autotimm::media
