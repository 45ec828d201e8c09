#pragma once
// Image files to 8-bit RGB: JPEG, PNG, BMP, TIFF, WebP (libjpeg-turbo for JPEG, OpenCV's decoders for the rest and
// for CMYK JPEGs). Gray images become three equal channels, alpha is dropped, 16-bit samples are scaled to 8 bits,
// EXIF orientation is ignored (as PIL ignores it). A truncated JPEG is an error, as in PIL.
//
// decode_and_apply is the loader's fast path: a transform that starts with a crop or resize gets a JPEG decoded
// only as far as it reads it, and at 1/2, 1/4 or 1/8 scale when its resize shrinks the region enough anyway.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "autotimm/data/image.hpp"
#include "autotimm/data/random.hpp"
#include "autotimm/data/transform.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct DecodeOptions {
  std::uintmax_t max_file_bytes = std::uintmax_t{512} << 20;  ///< larger files are refused, not read
  std::int64_t max_pixels = std::int64_t{1} << 28;             ///< decompression bombs are refused
  /// decode_and_apply may decode a JPEG at a reduced scale (see reduced_decode_scale); false: full scale only, so
  /// its result equals decode_image followed by the transform, byte for byte.
  bool reduced_scale = true;
};

/// FormatError naming the path when the file is not an image OpenCV can decode (truncated, corrupt, unsupported);
/// IoError when it cannot be read.
AUTOTIMM_API Image decode_image(const std::filesystem::path& path, const DecodeOptions& options = {});
/// The same for bytes already in memory; `source` names them in messages.
AUTOTIMM_API Image decode_image(std::span<const std::uint8_t> bytes, const std::string& source,
                                const DecodeOptions& options = {});

/// The bytes of an image file into `bytes` (its storage reused), with decode_image's checks and errors.
AUTOTIMM_API void read_image_file(const std::filesystem::path& path, std::vector<std::uint8_t>& bytes,
                                  const DecodeOptions& options = {});

/// How much larger than the resize output (in each direction) a region must stay after DCT scaling for the scaling
/// to be used: the antialiased resize then still shrinks by 2× or more and does the filtering that decides the
/// result (PIL's reducing_gap idea). Tolerance, tested in tests/data/decode_test.cpp on photo-like 1600x1200
/// JPEGs against the full-scale path: mean absolute difference under 1.25 gray levels, fewer than 0.5% of values
/// more than 8 apart (single values up to ~17 on hard edges).
inline constexpr int kReducedScaleMargin = 2;

/// The DCT scale (8, 4 or 2; 1 for none) for decoding the region of `plan`: the largest that leaves the region at
/// least kReducedScaleMargin times the resize output in both directions. 1 for nearest (it picks pixels, not
/// averages) and for plain crops.
AUTOTIMM_API int reduced_decode_scale(const ResizePlan& plan);

/// `transform` applied to the image file `bytes`, decoding only what it reads. For a JPEG whose transform has a
/// plan_resize: rows below the region are not decoded, columns outside it are not reconstructed (the result is
/// the same bytes as decode_image then transform.apply), and with options.reduced_scale the region is decoded at
/// reduced_decode_scale (close to, not equal to, the full-scale result). Other files: decode_image, then apply.
/// Randomness comes from `rng` exactly as transform.apply draws it, whichever path runs. `targets` holds the
/// sample's targets in the file's pixels (objects, mask; its image is ignored): they are moved with the image.
AUTOTIMM_API Sample decode_and_apply(std::span<const std::uint8_t> bytes, const std::string& source,
                                     const Transform& transform, SampleRng& rng, const DecodeOptions& options = {},
                                     Sample targets = {});

/// A gray image as RGB (three equal channels); RGB unchanged.
AUTOTIMM_API Image to_rgb(Image image);

/// Writes `image` as PNG or JPEG (by extension) through a temporary file and a rename. For tests, tools and
/// visualisations.
AUTOTIMM_API void write_image(const std::filesystem::path& path, const Image& image, int jpeg_quality = 90);

}  // namespace autotimm
