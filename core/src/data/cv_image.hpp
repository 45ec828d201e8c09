#pragma once
// OpenCV views of our Image, without copies: decoding and encoding write and read our buffers through them. Kept out
// of public headers.
#include <opencv2/core.hpp>

#include "autotimm/data/image.hpp"

namespace autotimm::data {

inline cv::Mat as_mat(Image& image) {
  return cv::Mat(image.height, image.width, CV_8UC(image.channels), image.pixels.data());
}
inline cv::Mat as_mat(const Image& image) {
  return cv::Mat(image.height, image.width, CV_8UC(image.channels), const_cast<std::uint8_t*>(image.pixels.data()));
}

}  // namespace autotimm::data
