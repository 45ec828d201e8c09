// An object's mask from where a reader found it: polygons rasterised and RLEs expanded through the RLE code (COCO's
// rules), a PNG of its own decoded as stored (IMREAD_UNCHANGED, as label PNGs are: 16-bit values stay nonzero, a
// palette PNG comes as its colours) with nonzero in any colour channel being the object.
#include "autotimm/data/instance_masks.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "autotimm/error.hpp"
#include "unchanged_image.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;

std::string size_text(int width, int height) { return std::to_string(width) + "x" + std::to_string(height); }

/// The PNG as stored: 1 channel (8 or 16 bit) for gray, BGR or BGRA for colour and palette PNGs.
cv::Mat read_unchanged(const fs::path& path, const std::string& where) {
  cv::Mat mat;
  const std::string file = "mask PNG '" + path.string() + "'";
  try {
    mat = data::read_unchanged_image(path, file);
  } catch (const IoError& error) {
    throw IoError(where + ": " + error.what());
  } catch (const FormatError& error) {
    throw FormatError(where + ": " + error.what());
  }
  if ((mat.depth() != CV_8U && mat.depth() != CV_16U) || mat.channels() > 4) {
    throw FormatError(where + ": " + file + " is a " + std::to_string(mat.channels()) + "-channel image of " +
                      std::to_string(mat.elemSize1() * 8) + "-bit samples; an instance mask is an 8- or 16-bit gray, "
                      "RGB or palette PNG with the object nonzero");
  }
  return mat;
}

template <class Sample>
void mark_nonzero(const cv::Mat& mat, Image& out) {
  // Alpha (a 4th channel) says nothing about the object: only colour channels count, as decode_image drops alpha.
  const int channels = mat.channels(), colours = channels == 4 ? 3 : channels;
  for (int y = 0; y < mat.rows; ++y) {
    const Sample* in = mat.ptr<Sample>(y);
    std::uint8_t* row = out.row(y);
    for (int x = 0; x < mat.cols; ++x) {
      bool object = false;
      for (int c = 0; c < colours; ++c) object = object || in[x * channels + c] != 0;
      row[x] = object ? 1 : 0;
    }
  }
}

Image decode_png(const fs::path& path, int width, int height, const std::string& where) {
  const cv::Mat mat = read_unchanged(path, where);
  if (mat.cols != width || mat.rows != height) {
    throw FormatError(where + ": mask PNG '" + path.string() + "' is " + size_text(mat.cols, mat.rows) +
                      " pixels but its image is " + size_text(width, height) +
                      "; a mask covers its whole image pixel for pixel: write it at the image's size");
  }
  Image mask(width, height, 1);
  if (mat.depth() == CV_16U) mark_nonzero<std::uint16_t>(mat, mask);
  else mark_nonzero<std::uint8_t>(mat, mask);
  return mask;
}

}  // namespace

Image decode_instance_mask(const InstanceMaskSource& source, int width, int height, std::string_view where_view) {
  const std::string where(where_view);
  if (width < 1 || height < 1) {
    throw ConfigError(where + ": cannot decode a mask at " + size_text(width, height) +
                      "; give the image's width and height (both positive)");
  }
  const int kinds = (source.polygons.empty() ? 0 : 1) + (source.rle ? 1 : 0) + (source.png.empty() ? 0 : 1);
  if (kinds == 0) {
    throw FormatError(where + ": the object has no mask (no polygons, RLE or PNG); read the annotations with masks "
                      "(CocoReadOptions::read_segmentation, or a CSV with a mask column)");
  }
  if (kinds > 1) {
    throw ConfigError(where + ": the mask source holds more than one of polygons, RLE and PNG; set exactly one");
  }
  if (!source.png.empty()) return decode_png(source.png, width, height, where);
  if (source.rle) {
    const auto& rle = *source.rle;
    if (rle.width != width || rle.height != height) {
      throw FormatError(where + ": the RLE mask is " + size_text(rle.width, rle.height) + " pixels but its image is " +
                        size_text(width, height) + "; an RLE covers its whole image: encode it at the image's size");
    }
    return rle_decode(rle);
  }
  try {
    return rle_decode(rle_from_polygons(source.polygons, height, width));
  } catch (const FormatError& error) {
    throw FormatError(where + ": " + error.what());
  }
}

}  // namespace autotimm
