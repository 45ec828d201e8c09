#include "unchanged_image.hpp"

#include <cstdint>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "autotimm/data/decode.hpp"
#include "autotimm/error.hpp"

namespace autotimm::data {

cv::Mat read_unchanged_image(const std::filesystem::path& path, const std::string& what) {
  const DecodeOptions limits;
  std::vector<std::uint8_t> bytes;
  read_image_file(path, bytes, limits);
  if (bytes.empty()) throw FormatError(what + " is empty");
  cv::Mat mat;
  try {
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1, bytes.data());
    mat = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& error) {
    throw FormatError("cannot decode " + what + ": " + error.what());
  }
  if (mat.empty()) {
    throw FormatError("cannot decode " + what + ": not a readable PNG (or other image) file (truncated or corrupt?)");
  }
  if (static_cast<std::int64_t>(mat.cols) * mat.rows > limits.max_pixels) {
    throw FormatError(what + " has " + std::to_string(mat.cols) + "x" + std::to_string(mat.rows) +
                      " pixels, over the limit of " + std::to_string(limits.max_pixels));
  }
  return mat;
}

}  // namespace autotimm::data
