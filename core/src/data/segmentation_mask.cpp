// Label files → maps of class indices. The file is read unchanged (IMREAD_UNCHANGED keeps 16-bit values and colours
// as stored; OpenCV expands palette PNGs to colours), then every pixel goes through a lookup table built once per
// file: raw value → class index, or "not a label" when the mask rejects values beyond its table.
#include "autotimm/data/segmentation_mask.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "autotimm/error.hpp"
#include "unchanged_image.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;

constexpr std::int16_t kNotALabel = -1;  // a lookup entry for a value the mask rejects

std::string where(const fs::path& path) { return "label image '" + path.string() + "'"; }

std::string pixel(int x, int y) { return "pixel (" + std::to_string(x) + ", " + std::to_string(y) + ")"; }

/// The file as OpenCV stores it, bounded as images are.
cv::Mat read_unchanged(const fs::path& path) { return data::read_unchanged_image(path, where(path)); }

std::string depth_name(int depth) {
  switch (depth) {
    case CV_8U: return "8-bit";
    case CV_8S: return "signed 8-bit";
    case CV_16U: return "16-bit";
    case CV_16S: return "signed 16-bit";
    case CV_32S: return "32-bit integer";
    case CV_32F: return "32-bit float";
    default: return "64-bit float";
  }
}

/// raw value → class index for every value a `bits`-bit sample can hold, kNotALabel where decode must throw.
std::vector<std::int16_t> lookup_table(const SegmentationMask& mask, int bits, std::uint8_t ignore_index) {
  if (!mask.value_to_class) {
    throw ConfigError(where(mask.path) + ": the mask has no value_to_class table; a reader fills it (build the "
                      "SegmentationMask with one: raw value → class index)");
  }
  const auto& table = *mask.value_to_class;
  std::vector<std::int16_t> lookup(std::size_t{1} << bits);
  for (std::size_t value = 0; value < lookup.size(); ++value) {
    if (value < table.size()) lookup[value] = table[value];
    else if (mask.reject_values_beyond_table && value != ignore_index) lookup[value] = kNotALabel;
    else lookup[value] = ignore_index;
  }
  return lookup;
}

[[noreturn]] void reject_value(const SegmentationMask& mask, int x, int y, unsigned value,
                               std::uint8_t ignore_index) {
  const auto size = mask.value_to_class->size();
  const std::string defined = size == 0 ? "none" : "0 to " + std::to_string(size - 1);
  throw FormatError(where(mask.path) + " " + pixel(x, y) + " holds value " + std::to_string(value) +
                    ", which the dataset does not define (its values are " + defined + ", and " +
                    std::to_string(ignore_index) + " for ignored pixels); give the reader a class name for every "
                    "value, or a class_mapping that maps (or ignores) " + std::to_string(value));
}

std::string shape_of(const cv::Mat& mat) {
  return "a " + std::to_string(mat.channels()) + "-channel " + depth_name(mat.depth()) + " image";
}

/// The PASCAL VOC colour map index of a colour, or -1 for a colour not in it. Index i's colour spreads i's bits
/// three at a time from the top: bits 0, 3, 6 into R bits 7, 6, 5; bits 1, 4, 7 into G; bits 2, 5 into B bits 7, 6.
/// Every colour with the other bits zero is the colour of exactly one index.
int voc_index(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  if ((r & 0x1F) != 0 || (g & 0x1F) != 0 || (b & 0x3F) != 0) return -1;
  int index = 0;
  for (int j = 0; j < 3; ++j) {
    index |= ((r >> (7 - j)) & 1) << (3 * j);
    index |= ((g >> (7 - j)) & 1) << (3 * j + 1);
    if (j < 2) index |= ((b >> (7 - j)) & 1) << (3 * j + 2);
  }
  return index;
}

Image decode_label_values(const SegmentationMask& mask, const cv::Mat& mat, std::uint8_t ignore_index) {
  if (mat.channels() != 1) {
    throw FormatError(where(mask.path) + " is " + shape_of(mat) + "; label_values masks are one-channel (gray) "
                      "images of label values. A colour or palette mask needs the voc_palette (VOC colours) or "
                      "panoptic_rgb (segment ids) encoding");
  }
  if (mat.depth() != CV_8U && mat.depth() != CV_16U) {
    throw FormatError(where(mask.path) + " is " + shape_of(mat) +
                      "; label_values masks hold 8- or 16-bit unsigned label values");
  }
  const bool wide = mat.depth() == CV_16U;
  const auto lookup = lookup_table(mask, wide ? 16 : 8, ignore_index);
  Image labels(mat.cols, mat.rows, 1);
  for (int y = 0; y < mat.rows; ++y) {
    std::uint8_t* out = labels.row(y);
    for (int x = 0; x < mat.cols; ++x) {
      const unsigned value = wide ? mat.ptr<std::uint16_t>(y)[x] : mat.ptr<std::uint8_t>(y)[x];
      const auto label = lookup[value];
      if (label == kNotALabel) reject_value(mask, x, y, value, ignore_index);
      out[x] = static_cast<std::uint8_t>(label);
    }
  }
  return labels;
}

Image decode_voc_palette(const SegmentationMask& mask, const cv::Mat& mat, std::uint8_t ignore_index) {
  const int channels = mat.channels();
  if (mat.depth() != CV_8U || (channels != 1 && channels != 3 && channels != 4)) {
    throw FormatError(where(mask.path) + " is " + shape_of(mat) + "; voc_palette masks are 8-bit palette (or RGB) "
                      "PNGs in the VOC colour map, or 8-bit gray images of palette indices");
  }
  const auto lookup = lookup_table(mask, 8, ignore_index);
  Image labels(mat.cols, mat.rows, 1);
  for (int y = 0; y < mat.rows; ++y) {
    const std::uint8_t* in = mat.ptr<std::uint8_t>(y);
    std::uint8_t* out = labels.row(y);
    for (int x = 0; x < mat.cols; ++x) {
      int index = in[x * channels];  // one channel: the palette index itself (SegmentationClassAug style)
      if (channels > 1) {
        const std::uint8_t b = in[x * channels], g = in[x * channels + 1], r = in[x * channels + 2];
        index = voc_index(r, g, b);
        if (index < 0) {
          throw FormatError(where(mask.path) + " " + pixel(x, y) + " has colour (" + std::to_string(r) + ", " +
                            std::to_string(g) + ", " + std::to_string(b) +
                            "), which is not in the PASCAL VOC colour map; is it a VOC SegmentationClass PNG (a "
                            "resized or JPEG-compressed mask blends colours)?");
        }
      }
      const auto label = lookup[static_cast<std::size_t>(index)];
      if (label == kNotALabel) reject_value(mask, x, y, static_cast<unsigned>(index), ignore_index);
      out[x] = static_cast<std::uint8_t>(label);
    }
  }
  return labels;
}

Image decode_panoptic_rgb(const SegmentationMask& mask, const cv::Mat& mat, std::uint8_t ignore_index) {
  const int channels = mat.channels();
  if (mat.depth() != CV_8U || (channels != 3 && channels != 4)) {
    throw FormatError(where(mask.path) + " is " + shape_of(mat) + "; panoptic_rgb masks are 8-bit RGB PNGs with "
                      "segment id = R + 256 G + 65536 B");
  }
  if (!mask.segment_classes) {
    throw ConfigError(where(mask.path) + ": the mask has no segment_classes table; a reader fills it (segment id → "
                      "class index)");
  }
  const auto& classes = *mask.segment_classes;
  Image labels(mat.cols, mat.rows, 1);
  // Segments are regions: most pixels repeat their left neighbour's id, so the last lookup is kept.
  std::uint32_t last_id = 0;
  std::uint8_t last_label = ignore_index;
  for (int y = 0; y < mat.rows; ++y) {
    const std::uint8_t* in = mat.ptr<std::uint8_t>(y);
    std::uint8_t* out = labels.row(y);
    for (int x = 0; x < mat.cols; ++x) {
      const std::uint8_t* bgr = in + x * channels;
      const std::uint32_t id = bgr[2] + 256u * bgr[1] + 65536u * bgr[0];
      if (id != last_id) {
        const auto found = id == 0 ? classes.end() : classes.find(id);
        last_label = found == classes.end() ? ignore_index : found->second;
        last_id = id;
      }
      out[x] = last_label;
    }
  }
  return labels;
}

}  // namespace

Image SegmentationMask::decode(std::uint8_t ignore_index) const {
  const cv::Mat mat = read_unchanged(path);
  switch (encoding) {
    case MaskEncoding::label_values: return decode_label_values(*this, mat, ignore_index);
    case MaskEncoding::voc_palette: return decode_voc_palette(*this, mat, ignore_index);
    case MaskEncoding::panoptic_rgb: return decode_panoptic_rgb(*this, mat, ignore_index);
  }
  throw ConfigError(where(path) + ": unknown MaskEncoding " + std::to_string(static_cast<int>(encoding)));
}

}  // namespace autotimm
