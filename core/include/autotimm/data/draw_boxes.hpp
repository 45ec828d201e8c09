#pragma once
// Boxes and their captions drawn onto an image, for looking at detections (`autotimm predict` on a detector writes
// such PNGs). Plain C++, no torch.
//
//   autotimm::draw_boxes(image, {{.box = {10, 20, 80, 90}, .caption = "ellipse 0.93", .color_index = 1}});
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

}  // namespace autotimm
