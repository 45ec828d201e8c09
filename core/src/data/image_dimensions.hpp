#pragma once
// The width and height of an image file from its header alone, for readers that need image sizes (YOLO boxes are
// normalised to them, detection records carry them) without decoding every image. PNG, JPEG, BMP and GIF headers
// are parsed here; any other file is decoded (decode_image) and measured.
#include <filesystem>

namespace autotimm::data {

struct ImageDimensions {
  int width = 0;
  int height = 0;
};

/// The size decode_image would give the file (EXIF orientation ignored, as the decoder ignores it; for a GIF, which
/// decode_image does not read, its logical screen size, as PIL gives it). FormatError naming the file for a truncated
/// or garbled header (and decode_image's errors for other formats); IoError when the file cannot be read.
ImageDimensions read_image_dimensions(const std::filesystem::path& path);

}  // namespace autotimm::data
