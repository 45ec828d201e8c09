#include "png_image.hpp"

#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include "autotimm/error.hpp"

namespace autotimm::media {

PngImage encode_png(const at::Tensor& image, std::string_view context) {
  torch::Tensor t = image.detach().cpu();
  if (t.dim() == 2) t = t.unsqueeze(2);
  // Channels first unless the last dimension already looks like channels ([3, H, 3] reads as H = 3 rows of RGB).
  if (t.dim() == 3 && (t.size(0) == 1 || t.size(0) == 3) && t.size(2) != 1 && t.size(2) != 3) t = t.permute({1, 2, 0});
  if (t.dim() != 3 || (t.size(2) != 1 && t.size(2) != 3) || t.size(0) == 0 || t.size(1) == 0) {
    throw ConfigError(std::string(context) + ": expected an image [3, H, W], [H, W, 3], [1, H, W] or [H, W], got " +
                      c10::str(image.sizes()));
  }
  if (t.scalar_type() == torch::kBool) {
    t = t.to(torch::kUInt8) * 255;
  } else if (t.is_floating_point()) {
    t = (torch::nan_to_num(t.to(torch::kFloat32), 0.0).clamp(0, 1) * 255).round();
  } else if (t.scalar_type() != torch::kUInt8) {
    t = t.clamp(0, 255);
  }
  t = t.to(torch::kUInt8).contiguous();
  const int height = static_cast<int>(t.size(0));
  const int width = static_cast<int>(t.size(1));
  const bool gray = t.size(2) == 1;
  cv::Mat pixels(height, width, gray ? CV_8UC1 : CV_8UC3, t.data_ptr<std::uint8_t>());
  cv::Mat bgr;
  if (!gray) {
    // OpenCV writes BGR; swap the channels by hand rather than pulling in imgproc for cvtColor.
    bgr.create(height, width, CV_8UC3);
    const int pairs[] = {0, 2, 1, 1, 2, 0};
    cv::mixChannels(&pixels, 1, &bgr, 1, pairs, 3);
  }
  std::vector<std::uint8_t> png;
  if (!cv::imencode(".png", gray ? pixels : bgr, png)) throw FormatError(std::string(context) + ": PNG encoding failed");
  return PngImage{.height = height, .width = width, .channels = gray ? 1 : 3, .png = std::string(png.begin(), png.end())};
}

}  // namespace autotimm::media
