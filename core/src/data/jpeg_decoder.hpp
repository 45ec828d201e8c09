#pragma once
// JPEG through libjpeg-turbo directly, for what OpenCV's imdecode cannot do: read the header alone, decode only a
// window of rows and columns, scale by 1/2, 1/4 or 1/8 in the DCT, and write RGB straight into a reused buffer.
// With scale 1 the pixels are exactly those of a full decode (the same library and settings OpenCV and PIL use).
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "autotimm/data/image.hpp"

namespace autotimm::data {

struct JpegHeader {
  int width = 0;
  int height = 0;
  bool rgb_capable = false;  ///< gray, YCbCr or RGB: libjpeg converts to RGB itself (CMYK needs OpenCV)
};

/// The header of a JPEG file; nullopt when `bytes` is not a JPEG or its header is unreadable.
std::optional<JpegHeader> read_jpeg_header(std::span<const std::uint8_t> bytes);

/// The size of the image scaled by 1/`scale`, as libjpeg rounds it (up).
inline int jpeg_scaled_size(int size, int scale) { return (size + scale - 1) / scale; }

/// Decodes at least `region` (in pixels of the image scaled by 1/`scale`, scale 1, 2, 4 or 8) into `out`, whose
/// storage is reused, and returns the rectangle of the scaled image `out` holds: columns widened to the decoder's
/// block boundaries, exactly the region's rows. Rows below the region are never decoded; rows above it are entropy
/// decoded only. FormatError naming `source` for a corrupt or truncated file.
PixelRect decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& source, int scale, PixelRect region,
                      Image& out);

}  // namespace autotimm::data
