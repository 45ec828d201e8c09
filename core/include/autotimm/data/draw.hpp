#pragma once
// Predictions drawn onto an image, for looking at them (`autotimm predict` writes such PNGs): boxes with captions
// for detections, a translucent colour per class for label maps. Plain C++, no torch.
//
//   autotimm::draw_boxes(image, {{.box = {10, 20, 80, 90}, .caption = "ellipse 0.93", .color_index = 1}});
//   autotimm::overlay_label_map(image, labels, 0.5);   // labels: one channel, class per pixel
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "autotimm/data/image.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct DrawnBox {
  std::array<double, 4> box = {};  ///< x1, y1, x2, y2 in the image's pixels
  std::string caption = {};        ///< written on a filled band above the box (inside it at the top edge)
  std::int64_t color_index = 0;    ///< picks a colour of a fixed palette: the class index keeps a class's colour
};

/// Draws `boxes` in order onto `image` (RGB), two pixels wide, clipped to the image.
AUTOTIMM_API void draw_boxes(Image& image, const std::vector<DrawnBox>& boxes);

/// Blends each pixel of `image` (RGB) with its class's colour (the palette of draw_boxes, class c its colour
/// index c) by `alpha` in [0, 1]; pixels labelled `skip_label` (the ignore index) stay as they are. `labels` is one
/// channel of the image's size (ConfigError otherwise).
AUTOTIMM_API void overlay_label_map(Image& image, const Image& labels, double alpha = 0.5, int skip_label = 255);

}  // namespace autotimm
