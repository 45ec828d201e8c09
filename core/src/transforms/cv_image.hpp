#pragma once
// OpenCV views of our Image: no copies, for the transforms that use OpenCV's kernels. Kept out of public headers.
#include <opencv2/core.hpp>

#include "autotimm/data/image.hpp"

namespace autotimm::transforms {

inline cv::Mat as_mat(Image& image) {
  return cv::Mat(image.height, image.width, CV_8UC(image.channels), image.pixels.data());
}
inline cv::Mat as_mat(const Image& image) {
  return cv::Mat(image.height, image.width, CV_8UC(image.channels), const_cast<std::uint8_t*>(image.pixels.data()));
}
/// A copy of a continuous or strided 8-bit matrix.
inline Image image_from_mat(const cv::Mat& mat) {
  Image image(mat.cols, mat.rows, mat.channels());
  cv::Mat view = as_mat(image);
  mat.copyTo(view);
  return image;
}

}  // namespace autotimm::transforms
