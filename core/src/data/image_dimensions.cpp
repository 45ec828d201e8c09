// Image sizes from file headers. Only the few bytes a header needs are read, through a small window on the file, so
// measuring a dataset costs one short read per image. Formats without a parser here are decoded instead.
#include "image_dimensions.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include "autotimm/data/decode.hpp"
#include "autotimm/error.hpp"

namespace autotimm::data {

namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kMaxDimension = 0x7FFFFFFF;  // PNG's own limit, and what fits our int sizes

std::string hex_byte(std::uint8_t value) {
  char text[3];
  std::snprintf(text, sizeof text, "%02X", value);
  return text;
}

/// The header bytes of one file, read through a 4 KiB window: a JPEG's segments are walked by seeking, never by
/// reading the file whole.
class HeaderBytes {
 public:
  explicit HeaderBytes(const fs::path& path) : path_(path) {
    std::error_code error;
    size_ = fs::file_size(path, error);
    if (error) throw IoError("cannot read image '" + path.string() + "': " + error.message());
    in_.open(path, std::ios::binary);
    if (!in_) throw IoError("cannot open image '" + path.string() + "'");
  }

  std::uintmax_t size() const { return size_; }

  /// The byte at `offset`, or nothing past the end of the file.
  std::optional<std::uint8_t> byte_at(std::uintmax_t offset) {
    if (offset >= size_) return std::nullopt;
    if (offset < window_start_ || offset >= window_start_ + window_size_) {
      in_.clear();
      in_.seekg(static_cast<std::streamoff>(offset));
      in_.read(reinterpret_cast<char*>(window_.data()), static_cast<std::streamsize>(window_.size()));
      window_size_ = static_cast<std::size_t>(in_.gcount());
      window_start_ = offset;
      if (window_size_ == 0) throw IoError("cannot read image '" + path_.string() + "'");
    }
    return window_[static_cast<std::size_t>(offset - window_start_)];
  }

  /// The byte at `offset`; FormatError when the file ends before it (a truncated `format` header).
  std::uint8_t need(std::uintmax_t offset, const char* format) {
    const auto byte = byte_at(offset);
    if (!byte) truncated(format);
    return *byte;
  }

  /// A big- or little-endian unsigned integer of `count` bytes (at most 4) at `offset`.
  std::uint32_t big_endian(std::uintmax_t offset, int count, const char* format) {
    std::uint32_t value = 0;
    for (int i = 0; i < count; ++i) value = (value << 8) | need(offset + i, format);
    return value;
  }
  std::uint32_t little_endian(std::uintmax_t offset, int count, const char* format) {
    std::uint32_t value = 0;
    for (int i = count - 1; i >= 0; --i) value = (value << 8) | need(offset + i, format);
    return value;
  }

  [[noreturn]] void truncated(const char* format) const {
    throw FormatError("cannot read the size of image '" + path_.string() + "': truncated " + format +
                      " header (the file ends after " + std::to_string(size_) +
                      " bytes); the file is damaged: export it again or leave it out");
  }

  [[noreturn]] void garbled(const char* format, const std::string& what) const {
    throw FormatError("cannot read the size of image '" + path_.string() + "': garbled " + format + " header: " +
                      what + "; the file is damaged: export it again or leave it out");
  }

 private:
  fs::path path_;
  std::ifstream in_;
  std::uintmax_t size_ = 0;
  std::array<std::uint8_t, 4096> window_{};
  std::uintmax_t window_start_ = 0;
  std::size_t window_size_ = 0;
};

ImageDimensions decoded_dimensions(const fs::path& path) {
  const Image image = decode_image(path);
  return {image.width, image.height};
}

// PNG: the 8-byte signature, then the IHDR chunk (length 13, type, width, height as big-endian 32-bit values).
ImageDimensions png_dimensions(HeaderBytes& file) {
  constexpr std::array<std::uint8_t, 8> kSignature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  for (std::size_t i = 0; i < kSignature.size(); ++i) {
    if (file.need(i, "PNG") != kSignature[i]) file.garbled("PNG", "the 8-byte signature is wrong");
  }
  const auto length = file.big_endian(8, 4, "PNG");
  std::string type;
  for (int i = 12; i < 16; ++i) {
    const auto c = static_cast<char>(file.need(i, "PNG"));
    type += (c >= 0x20 && c < 0x7F) ? c : '?';
  }
  if (type != "IHDR" || length != 13) {
    file.garbled("PNG", "the first chunk is '" + type + "' of " + std::to_string(length) +
                            " bytes, expected 'IHDR' of 13 bytes");
  }
  const auto width = file.big_endian(16, 4, "PNG");
  const auto height = file.big_endian(20, 4, "PNG");
  if (width == 0 || height == 0 || width > kMaxDimension || height > kMaxDimension) {
    file.garbled("PNG", "IHDR gives a " + std::to_string(width) + "x" + std::to_string(height) +
                            " image, expected 1 to 2^31-1 pixels each way");
  }
  return {static_cast<int>(width), static_cast<int>(height)};
}

// JPEG: segments from SOI to the first frame header (SOF0-SOF15, which are FFC0-FFCF less FFC4 DHT, FFC8 JPG and
// FFCC DAC). Each segment's length counts its own two bytes. Bytes between segments that are not a marker are
// skipped, as libjpeg skips them, so any file the decoder opens is measured here.
ImageDimensions jpeg_dimensions(HeaderBytes& file, const fs::path& path) {
  constexpr const char* kJpeg = "JPEG";
  std::uintmax_t pos = 2;  // after FFD8
  for (;;) {
    std::uint8_t marker = 0;
    std::uintmax_t marker_at = 0;
    do {
      while (file.need(pos, kJpeg) != 0xFF) ++pos;
      marker_at = pos;
      do marker = file.need(++pos, kJpeg);
      while (marker == 0xFF);  // fill bytes
      ++pos;
    } while (marker == 0x00);  // FF00 is a stuffed byte, not a marker
    const std::string where = "marker FF" + hex_byte(marker) + " at byte " + std::to_string(marker_at);
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // TEM, RSTn: no length, no payload
    if (marker == 0xD8) file.garbled(kJpeg, "a second start-of-image " + where);
    if (marker == 0xD9) file.garbled(kJpeg, "end-of-image " + where + " before any frame header (SOFn)");
    if (marker == 0xDA) file.garbled(kJpeg, "scan " + where + " before any frame header (SOFn)");
    const auto length = file.big_endian(pos, 2, kJpeg);
    if (length < 2) {
      file.garbled(kJpeg, where + " has segment length " + std::to_string(length) + ", expected at least 2");
    }
    const bool frame_header = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame_header) {
      // length, sample precision, height, width, component count, then 3 bytes per component
      const auto height = file.big_endian(pos + 3, 2, kJpeg);
      const auto width = file.big_endian(pos + 5, 2, kJpeg);
      const auto components = file.need(pos + 7, kJpeg);
      if (components == 0 || length != 8u + 3u * components) {
        file.garbled(kJpeg, "frame header (" + where + ") has length " + std::to_string(length) + " for " +
                                std::to_string(components) + " components, expected 8 + 3 per component");
      }
      if (width == 0) file.garbled(kJpeg, "frame header (" + where + ") gives width 0");
      // Height 0 defers it to a DNL marker after the first scan, which only the decoder can settle.
      if (height == 0) return decoded_dimensions(path);
      return {static_cast<int>(width), static_cast<int>(height)};
    }
    pos += length;
  }
}

// GIF: "GIF87a" or "GIF89a", then the logical screen's width and height (little-endian 16-bit), the size PIL gives.
ImageDimensions gif_dimensions(HeaderBytes& file) {
  std::string version;
  for (int i = 3; i < 6; ++i) {
    const auto c = static_cast<char>(file.need(i, "GIF"));
    version += (c >= 0x20 && c < 0x7F) ? c : '?';
  }
  if (version != "87a" && version != "89a") file.garbled("GIF", "version '" + version + "', expected 87a or 89a");
  const auto width = file.little_endian(6, 2, "GIF");
  const auto height = file.little_endian(8, 2, "GIF");
  if (width == 0 || height == 0) {
    file.garbled("GIF", "logical screen of " + std::to_string(width) + "x" + std::to_string(height) + " pixels");
  }
  return {static_cast<int>(width), static_cast<int>(height)};
}

// BMP: a 14-byte file header, then the DIB header whose own size says its kind: 12 bytes (OS/2 1.x core header,
// 16-bit width and height) or 16 to 124 bytes (Windows and OS/2 2.x, signed 32-bit; a negative height means the
// rows are stored top-down).
ImageDimensions bmp_dimensions(HeaderBytes& file) {
  const auto dib_size = file.little_endian(14, 4, "BMP");
  std::int64_t width = 0, height = 0;
  if (dib_size == 12) {
    width = file.little_endian(18, 2, "BMP");
    height = file.little_endian(20, 2, "BMP");
  } else if (dib_size >= 16 && dib_size <= 124) {
    width = static_cast<std::int32_t>(file.little_endian(18, 4, "BMP"));
    height = static_cast<std::int32_t>(file.little_endian(22, 4, "BMP"));
    if (height < 0) height = -height;
  } else {
    file.garbled("BMP", "DIB header of " + std::to_string(dib_size) + " bytes, expected 12 or 16 to 124");
  }
  if (width <= 0 || height <= 0 || height > kMaxDimension) {
    file.garbled("BMP", "DIB header gives a " + std::to_string(width) + "x" + std::to_string(height) + " image");
  }
  return {static_cast<int>(width), static_cast<int>(height)};
}

}  // namespace

ImageDimensions read_image_dimensions(const fs::path& path) {
  HeaderBytes file(path);
  if (file.size() == 0) throw FormatError("cannot read the size of image '" + path.string() + "': the file is empty");
  std::array<std::uint8_t, 4> magic{};
  for (std::size_t i = 0; i < magic.size(); ++i) magic[i] = file.byte_at(i).value_or(0);
  if (magic[0] == 0xFF && magic[1] == 0xD8) return jpeg_dimensions(file, path);
  if (magic[0] == 0x89 && magic[1] == 'P' && magic[2] == 'N' && magic[3] == 'G') return png_dimensions(file);
  if (std::memcmp(magic.data(), "GIF8", 4) == 0) return gif_dimensions(file);
  if (magic[0] == 'B' && magic[1] == 'M') return bmp_dimensions(file);
  return decoded_dimensions(path);  // TIFF, WebP and whatever else the decoder reads
}

}  // namespace autotimm::data
