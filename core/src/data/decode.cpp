#include "autotimm/data/decode.hpp"

#include <fstream>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "autotimm/error.hpp"
#include "autotimm/io/atomic_file.hpp"
#include "cv_image.hpp"

namespace autotimm {

namespace fs = std::filesystem;

Image decode_image(std::span<const std::uint8_t> bytes, const std::string& source, const DecodeOptions& options) {
  if (bytes.empty()) throw FormatError("cannot decode image '" + source + "': the file is empty");
  cv::Mat decoded;
  try {
    // IMREAD_COLOR: gray → 3 channels, alpha dropped, 16-bit → 8-bit; BGR order. EXIF orientation is ignored, as
    // PIL (and so torchvision and timm) ignore it: the same file gives the model the same pixels in both.
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<std::uint8_t*>(bytes.data()));
    decoded = cv::imdecode(buffer, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& error) {
    throw FormatError("cannot decode image '" + source + "': " + error.what());
  }
  if (decoded.empty()) {
    throw FormatError("cannot decode image '" + source +
                      "': not a readable JPEG, PNG, BMP, TIFF or WebP file (truncated or corrupt?)");
  }
  if (static_cast<std::int64_t>(decoded.cols) * decoded.rows > options.max_pixels) {
    throw FormatError("image '" + source + "' has " + std::to_string(decoded.cols) + "x" +
                      std::to_string(decoded.rows) + " pixels, over the limit of " +
                      std::to_string(options.max_pixels));
  }
  Image image(decoded.cols, decoded.rows, 3);
  cv::Mat rgb = data::as_mat(image);
  cv::cvtColor(decoded, rgb, cv::COLOR_BGR2RGB);
  return image;
}

Image decode_image(const fs::path& path, const DecodeOptions& options) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw IoError("cannot read image '" + path.string() + "': " + ec.message());
  if (size > options.max_file_bytes) {
    throw FormatError("image '" + path.string() + "' is " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(options.max_file_bytes) + "; is it really an image?");
  }
  std::vector<std::uint8_t> bytes(size);
  std::ifstream in(path, std::ios::binary);
  if (!in || !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    throw IoError("cannot read image '" + path.string() + "'");
  }
  return decode_image(bytes, path.string(), options);
}

Image to_rgb(Image image) {
  if (image.channels == 3) return image;
  if (image.channels != 1) {
    throw FormatError("cannot convert a " + std::to_string(image.channels) + "-channel image to RGB");
  }
  Image rgb(image.width, image.height, 3);
  for (std::size_t i = 0; i < image.pixels.size(); ++i) {
    rgb.pixels[3 * i] = rgb.pixels[3 * i + 1] = rgb.pixels[3 * i + 2] = image.pixels[i];
  }
  return rgb;
}

void write_image(const fs::path& path, const Image& image, int jpeg_quality) {
  cv::Mat bgr;
  const cv::Mat view = data::as_mat(image);
  if (image.channels == 3) {
    cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
  } else {
    bgr = view;
  }
  std::string extension = path.extension().string();
  for (auto& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::vector<unsigned char> encoded;
  std::vector<int> params;
  if (extension == ".jpg" || extension == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, jpeg_quality};
  if (!cv::imencode(extension.empty() ? ".png" : extension, bgr, encoded, params)) {
    throw IoError("cannot encode '" + path.string() + "' as " + extension);
  }
  write_file_atomically(path, std::string(encoded.begin(), encoded.end()));
}

}  // namespace autotimm
