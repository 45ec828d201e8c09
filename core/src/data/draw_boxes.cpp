#include "autotimm/data/draw_boxes.hpp"

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

}  // namespace

void draw_boxes(Image& image, const std::vector<DrawnBox>& boxes) {
  if (image.channels != 3) {
    throw ConfigError("draw_boxes: expected an RGB image, got " + std::to_string(image.channels) + " channels");
  }
  cv::Mat canvas = data::as_mat(image);
  for (const DrawnBox& drawn : boxes) {
    const auto& b = drawn.box;
    if (!std::isfinite(b[0]) || !std::isfinite(b[1]) || !std::isfinite(b[2]) || !std::isfinite(b[3])) continue;
    const auto& rgb = kPalette[static_cast<std::size_t>(std::abs(drawn.color_index)) % kPalette.size()];
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

}  // namespace autotimm
