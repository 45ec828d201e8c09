#pragma once
// Image files to 8-bit RGB: JPEG, PNG, BMP, TIFF, WebP (OpenCV's decoders, libjpeg-turbo for JPEG). Gray images
// become three equal channels, alpha is dropped, 16-bit samples are scaled to 8 bits, EXIF orientation is ignored
// (as PIL ignores it).
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "autotimm/data/image.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct DecodeOptions {
  std::uintmax_t max_file_bytes = std::uintmax_t{512} << 20;  ///< larger files are refused, not read
  std::int64_t max_pixels = std::int64_t{1} << 28;             ///< decompression bombs are refused
};

/// FormatError naming the path when the file is not an image OpenCV can decode (truncated, corrupt, unsupported);
/// IoError when it cannot be read.
AUTOTIMM_API Image decode_image(const std::filesystem::path& path, const DecodeOptions& options = {});
/// The same for bytes already in memory; `source` names them in messages.
AUTOTIMM_API Image decode_image(std::span<const std::uint8_t> bytes, const std::string& source,
                                const DecodeOptions& options = {});

/// A gray image as RGB (three equal channels); RGB unchanged.
AUTOTIMM_API Image to_rgb(Image image);

/// Writes `image` as PNG or JPEG (by extension) through a temporary file and a rename. For tests, tools and
/// visualisations.
AUTOTIMM_API void write_image(const std::filesystem::path& path, const Image& image, int jpeg_quality = 90);

}  // namespace autotimm
