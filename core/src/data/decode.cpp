#include "autotimm/data/decode.hpp"

#include <fstream>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "../transforms/resample.hpp"
#include "autotimm/error.hpp"
#include "autotimm/io/atomic_file.hpp"
#include "cv_image.hpp"
#include "jpeg_decoder.hpp"

namespace autotimm {

namespace fs = std::filesystem;

namespace {

void check_pixels(int width, int height, const std::string& source, const DecodeOptions& options) {
  if (static_cast<std::int64_t>(width) * height > options.max_pixels) {
    throw FormatError("image '" + source + "' has " + std::to_string(width) + "x" + std::to_string(height) +
                      " pixels, over the limit of " + std::to_string(options.max_pixels));
  }
}

/// Label maps and instance masks must cover their image pixel for pixel before anything moves them.
void check_mask_size(const Sample& sample, int width, int height, const std::string& source) {
  const auto check = [&](const Image& mask, const std::string& what) {
    if (mask.empty() || (mask.width == width && mask.height == height)) return;
    throw FormatError(what + " of '" + source + "' is " + std::to_string(mask.width) + "x" +
                      std::to_string(mask.height) + " but the image is " + std::to_string(width) + "x" +
                      std::to_string(height) + "; a mask must have its image's size (do the annotations give the "
                      "image's width and height?)");
  };
  check(sample.mask, "the label map");
  for (std::size_t i = 0; i < sample.objects.size(); ++i) {
    check(sample.objects[i].mask, "the mask of object " + std::to_string(i + 1));
  }
}

/// A transform's plan must describe a resize of this image; a custom transform's mistake is named here.
void check_plan(const ResizePlan& plan, const data::JpegHeader& header, const Transform& transform) {
  const PixelRect& roi = plan.roi;
  const PixelRect& window = plan.window;
  if (roi.x < 0 || roi.y < 0 || roi.width <= 0 || roi.height <= 0 || roi.x + roi.width > header.width ||
      roi.y + roi.height > header.height || plan.width <= 0 || plan.height <= 0 || window.x < 0 || window.y < 0 ||
      window.width <= 0 || window.height <= 0 || window.x + window.width > plan.width ||
      window.y + window.height > plan.height) {
    throw ConfigError("transform '" + std::string(transform.name()) + "' planned a resize of region " +
                      std::to_string(roi.width) + "x" + std::to_string(roi.height) + "+" + std::to_string(roi.x) +
                      "+" + std::to_string(roi.y) + " to " + std::to_string(plan.width) + "x" +
                      std::to_string(plan.height) + " that does not fit the " + std::to_string(header.width) + "x" +
                      std::to_string(header.height) + " image; its plan_resize must stay inside the image");
  }
}

Image decode_with_opencv(std::span<const std::uint8_t> bytes, const std::string& source, const DecodeOptions& options) {
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
  check_pixels(decoded.cols, decoded.rows, source, options);
  Image image(decoded.cols, decoded.rows, 3);
  cv::Mat rgb = data::as_mat(image);
  cv::cvtColor(decoded, rgb, cv::COLOR_BGR2RGB);
  return image;
}

}  // namespace

Image decode_image(std::span<const std::uint8_t> bytes, const std::string& source, const DecodeOptions& options) {
  if (bytes.empty()) throw FormatError("cannot decode image '" + source + "': the file is empty");
  // JPEG through libjpeg-turbo itself: RGB written straight into the result, no BGR copy to convert.
  if (const auto header = data::read_jpeg_header(bytes); header && header->rgb_capable) {
    check_pixels(header->width, header->height, source, options);
    Image image;
    data::decode_jpeg(bytes, source, 1, {0, 0, header->width, header->height}, image);
    return image;
  }
  return decode_with_opencv(bytes, source, options);
}

void read_image_file(const fs::path& path, std::vector<std::uint8_t>& bytes, const DecodeOptions& options) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw IoError("cannot read image '" + path.string() + "': " + ec.message());
  if (size > options.max_file_bytes) {
    throw FormatError("image '" + path.string() + "' is " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(options.max_file_bytes) + "; is it really an image?");
  }
  bytes.resize(size);
  std::ifstream in(path, std::ios::binary);
  if (!in || !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    throw IoError("cannot read image '" + path.string() + "'");
  }
}

Image decode_image(const fs::path& path, const DecodeOptions& options) {
  std::vector<std::uint8_t> bytes;
  read_image_file(path, bytes, options);
  return decode_image(bytes, path.string(), options);
}

int reduced_decode_scale(const ResizePlan& plan) {
  if (plan.interpolation == Interpolation::nearest) return 1;
  for (const int scale : {8, 4, 2}) {
    if (plan.roi.width >= kReducedScaleMargin * scale * plan.width &&
        plan.roi.height >= kReducedScaleMargin * scale * plan.height) {
      return scale;
    }
  }
  return 1;
}

Sample decode_and_apply(std::span<const std::uint8_t> bytes, const std::string& source, const Transform& transform,
                        SampleRng& rng, const DecodeOptions& options, Sample targets) {
  if (bytes.empty()) throw FormatError("cannot decode image '" + source + "': the file is empty");
  Sample sample = std::move(targets);
  const auto header = data::read_jpeg_header(bytes);
  if (!header || !header->rgb_capable) {
    sample.image = decode_with_opencv(bytes, source, options);
    sample.original_width = sample.image.width;
    sample.original_height = sample.image.height;
    check_mask_size(sample, sample.image.width, sample.image.height, source);
    transform.apply(sample, rng);
    return sample;
  }
  check_pixels(header->width, header->height, source, options);
  sample.original_width = header->width;
  sample.original_height = header->height;
  check_mask_size(sample, header->width, header->height, source);
  const auto plan = transform.plan_resize(header->width, header->height, rng);
  if (!plan) {
    data::decode_jpeg(bytes, source, 1, {0, 0, header->width, header->height}, sample.image);
    transform.apply(sample, rng);
    return sample;
  }
  check_plan(*plan, *header, transform);
  const int scale = options.reduced_scale ? reduced_decode_scale(*plan) : 1;
  const auto x = transforms::scaled_axis(plan->roi.x, plan->roi.width, plan->width, scale,
                                         data::jpeg_scaled_size(header->width, scale));
  const auto y = transforms::scaled_axis(plan->roi.y, plan->roi.height, plan->height, scale,
                                         data::jpeg_scaled_size(header->height, scale));
  const PixelRect needed = transforms::source_rect(x, y, plan->window, plan->interpolation);
  thread_local Image decoded;  // reused: a fresh buffer per image costs page faults
  const PixelRect area = data::decode_jpeg(bytes, source, scale, needed, decoded);
  sample.image = transforms::resample(transforms::PixelView::of(decoded, area.x, area.y), x, y, plan->window,
                                      plan->interpolation);
  map_targets(sample, *plan, header->width, header->height);
  transform.finish_after_resize(sample, rng);
  return sample;
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
