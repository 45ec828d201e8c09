#include "jpeg_decoder.hpp"

#include <algorithm>
#include <array>
#include <csetjmp>
#include <cstdio>

// clang-format off: jpeglib.h needs stdio's FILE and size_t first.
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include "autotimm/error.hpp"

namespace autotimm::data {

namespace {

/// libjpeg reports errors through a callback that must not return: it jumps back to the setjmp in Decompressor.
/// No C++ object lives in the frames the jump skips (they are libjpeg's C frames).
struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  std::array<char, JMSG_LENGTH_MAX> message;
};

[[noreturn]] void fail(j_common_ptr info) {
  auto* errors = reinterpret_cast<ErrorManager*>(info->err);
  (*info->err->format_message)(info, errors->message.data());
  std::longjmp(errors->jump, 1);
}

/// Warnings are not printed (a library does not write to stderr). A truncated file is an error, as in PIL, so
/// the loader skips and counts it instead of training on a half-gray image; other warnings are tolerated as
/// OpenCV and PIL tolerate them.
void warn(j_common_ptr info, int level) {
  if (level < 0 && info->err->msg_code == JWRN_JPEG_EOF) fail(info);
}

bool starts_like_jpeg(std::span<const std::uint8_t> bytes) {
  return bytes.size() > 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

/// One decompression: the libjpeg state and its error manager, destroyed on every path.
class Decompressor {
 public:
  explicit Decompressor(std::span<const std::uint8_t> bytes) {
    info_.err = jpeg_std_error(&errors_.pub);
    errors_.pub.error_exit = &fail;
    errors_.pub.emit_message = &warn;
    errors_.message[0] = '\0';
    jpeg_create_decompress(&info_);
    jpeg_mem_src(&info_, bytes.data(), static_cast<unsigned long>(bytes.size()));
  }
  ~Decompressor() { jpeg_destroy_decompress(&info_); }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  jpeg_decompress_struct& info() { return info_; }
  std::jmp_buf& jump() { return errors_.jump; }
  const char* message() const { return errors_.message.data(); }

 private:
  jpeg_decompress_struct info_{};
  ErrorManager errors_{};
};

bool rgb_capable(J_COLOR_SPACE space) {
  return space == JCS_GRAYSCALE || space == JCS_YCbCr || space == JCS_RGB;
}

}  // namespace

std::optional<JpegHeader> read_jpeg_header(std::span<const std::uint8_t> bytes) {
  if (!starts_like_jpeg(bytes)) return std::nullopt;
  Decompressor decompressor(bytes);
  auto& info = decompressor.info();
  if (setjmp(decompressor.jump())) return std::nullopt;
  if (jpeg_read_header(&info, TRUE) != JPEG_HEADER_OK) return std::nullopt;
  return JpegHeader{static_cast<int>(info.image_width), static_cast<int>(info.image_height),
                    rgb_capable(info.jpeg_color_space)};
}

PixelRect decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& source, int scale, PixelRect region,
                      Image& out) {
  if (scale != 1 && scale != 2 && scale != 4 && scale != 8) {
    throw Error("decode_jpeg: scale must be 1, 2, 4 or 8, got " + std::to_string(scale));
  }
  if (!starts_like_jpeg(bytes)) throw FormatError("cannot decode image '" + source + "': not a JPEG file");
  Decompressor decompressor(bytes);
  auto& info = decompressor.info();
  // Set before the jump point and only read after a jump: volatile, as setjmp requires.
  volatile bool started = false;
  PixelRect decoded;
  if (setjmp(decompressor.jump())) {
    if (started) jpeg_abort_decompress(&info);
    throw FormatError("cannot decode image '" + source + "': " + decompressor.message());
  }
  jpeg_read_header(&info, TRUE);
  if (!rgb_capable(info.jpeg_color_space)) {
    throw FormatError("cannot decode image '" + source + "': a CMYK/YCCK JPEG needs the full decoder");
  }
  info.out_color_space = JCS_RGB;
  info.scale_num = 1;
  info.scale_denom = static_cast<unsigned int>(scale);
  jpeg_start_decompress(&info);
  started = true;
  const int width = static_cast<int>(info.output_width), height = static_cast<int>(info.output_height);
  if (region.x < 0 || region.y < 0 || region.width <= 0 || region.height <= 0 || region.x + region.width > width ||
      region.y + region.height > height) {
    jpeg_abort_decompress(&info);
    throw Error("decode_jpeg: region " + std::to_string(region.width) + "x" + std::to_string(region.height) + "+" +
                std::to_string(region.x) + "+" + std::to_string(region.y) + " is outside the " +
                std::to_string(width) + "x" + std::to_string(height) + " image of '" + source + "'");
  }
  // Columns outside the region skip the inverse DCT, upsampling and color conversion. The chroma upsampling
  // treats the first and last column of a crop as image edges, so a crop one block group wider on each side keeps
  // the region's pixels those of the full decode.
  const int margin = info.max_h_samp_factor * (8 / scale);
  const int left = std::max(region.x - margin, 0), right = std::min(region.x + region.width + margin, width);
  JDIMENSION x = static_cast<JDIMENSION>(left), columns = static_cast<JDIMENSION>(right - left);
  if (right - left < width) jpeg_crop_scanline(&info, &x, &columns);
  decoded = {static_cast<int>(x), region.y, static_cast<int>(columns), region.height};
  // Rows above are entropy decoded (the format has no index) but not reconstructed.
  if (region.y > 0) jpeg_skip_scanlines(&info, static_cast<JDIMENSION>(region.y));
  out.width = decoded.width;
  out.height = decoded.height;
  out.channels = 3;
  out.pixels.resize(static_cast<std::size_t>(decoded.width) * decoded.height * 3);
  std::array<JSAMPROW, 16> rows{};
  while (static_cast<int>(info.output_scanline) < region.y + region.height) {
    const int first = static_cast<int>(info.output_scanline) - region.y;
    const int count = std::min<int>(static_cast<int>(rows.size()), region.height - first);
    for (int i = 0; i < count; ++i) rows[i] = out.row(first + i);
    jpeg_read_scanlines(&info, rows.data(), static_cast<JDIMENSION>(count));
  }
  // Rows below the region are never decoded.
  jpeg_abort_decompress(&info);
  return decoded;
}

}  // namespace autotimm::data
