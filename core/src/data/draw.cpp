#include "autotimm/data/draw.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "autotimm/error.hpp"
#include "cv_image.hpp"

namespace autotimm {

namespace {

// Distinct, saturated colours (RGB) that read on photos; classes beyond them reuse the palette.
constexpr std::array<std::array<int, 3>, 10> kPalette = {{{230, 25, 75},
                                                          {60, 180, 75},
                                                          {0, 130, 200},
                                                          {245, 130, 48},
                                                          {145, 30, 180},
                                                          {70, 240, 240},
                                                          {240, 50, 230},
                                                          {210, 245, 60},
                                                          {255, 225, 25},
                                                          {0, 128, 128}}};

const std::array<int, 3>& palette_color(std::int64_t index) {
  return kPalette[static_cast<std::size_t>(std::abs(index)) % kPalette.size()];
}

}  // namespace

void draw_boxes(Image& image, const std::vector<DrawnBox>& boxes) {
  if (image.channels != 3) {
    throw ConfigError("draw_boxes: expected an RGB image, got " + std::to_string(image.channels) + " channels");
  }
  cv::Mat canvas = data::as_mat(image);
  for (const DrawnBox& drawn : boxes) {
    const auto& b = drawn.box;
    if (!std::isfinite(b[0]) || !std::isfinite(b[1]) || !std::isfinite(b[2]) || !std::isfinite(b[3])) continue;
    const auto& rgb = palette_color(drawn.color_index);
    const cv::Scalar color(rgb[0], rgb[1], rgb[2]);  // the Mat holds RGB: the channels are taken as they are
    const cv::Point top_left(static_cast<int>(std::lround(b[0])), static_cast<int>(std::lround(b[1])));
    const cv::Point bottom_right(static_cast<int>(std::lround(b[2])), static_cast<int>(std::lround(b[3])));
    cv::rectangle(canvas, top_left, bottom_right, color, 2, cv::LINE_AA);
    if (drawn.caption.empty()) continue;
    int baseline = 0;
    constexpr double kScale = 0.4;
    const cv::Size text = cv::getTextSize(drawn.caption, cv::FONT_HERSHEY_SIMPLEX, kScale, 1, &baseline);
    // Above the box when there is room, else just inside its top edge.
    const int band_top = top_left.y - text.height - baseline - 2 >= 0 ? top_left.y - text.height - baseline - 2
                                                                       : std::max(top_left.y, 0);
    const cv::Point band_origin(std::max(top_left.x, 0), band_top);
    cv::rectangle(canvas, band_origin,
                  cv::Point(band_origin.x + text.width + 2, band_origin.y + text.height + baseline + 2), color,
                  cv::FILLED);
    cv::putText(canvas, drawn.caption, cv::Point(band_origin.x + 1, band_origin.y + text.height + 1),
                cv::FONT_HERSHEY_SIMPLEX, kScale, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  }
}

void overlay_label_map(Image& image, const Image& labels, double alpha, int skip_label) {
  if (image.channels != 3 || labels.channels != 1 || labels.width != image.width || labels.height != image.height) {
    throw ConfigError("overlay_label_map: expected an RGB image and a one-channel label map of its size, got " +
                      std::to_string(image.width) + "x" + std::to_string(image.height) + "x" +
                      std::to_string(image.channels) + " and " + std::to_string(labels.width) + "x" +
                      std::to_string(labels.height) + "x" + std::to_string(labels.channels));
  }
  if (!(alpha >= 0.0 && alpha <= 1.0)) throw ConfigError("overlay_label_map: alpha must be in [0, 1]");
  for (std::size_t i = 0; i < labels.pixels.size(); ++i) {
    const int label = labels.pixels[i];
    if (label == skip_label) continue;
    const auto& rgb = palette_color(label);
    for (int c = 0; c < 3; ++c) {
      auto& value = image.pixels[3 * i + static_cast<std::size_t>(c)];
      value = static_cast<std::uint8_t>(std::lround((1.0 - alpha) * value + alpha * rgb[static_cast<std::size_t>(c)]));
    }
  }
}

}  // namespace autotimm
