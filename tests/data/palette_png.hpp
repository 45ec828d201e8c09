#pragma once
// A real 8-bit palette PNG (colour type 3) written byte by byte, for the readers that must take one (VOC labels,
// instance masks): OpenCV cannot write one.
#include <zlib.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace autotimm::testing {

namespace palette_png_detail {

using Bytes = std::vector<std::uint8_t>;

inline void put32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>((v >> shift) & 0xFF));
}

inline void put_chunk(Bytes& png, const char* type, const Bytes& data) {
  put32(png, static_cast<std::uint32_t>(data.size()));
  Bytes body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  png.insert(png.end(), body.begin(), body.end());
  put32(png, static_cast<std::uint32_t>(crc32(0, body.data(), static_cast<uInt>(body.size()))));
}

}  // namespace palette_png_detail

/// Palette `indices` row-major, `width` per row, with `palette` (R, G, B per index).
inline std::filesystem::path write_palette_png(const std::filesystem::path& path, int width,
                                               const std::vector<int>& indices,
                                               const std::vector<std::array<std::uint8_t, 3>>& palette) {
  using palette_png_detail::Bytes;
  using palette_png_detail::put32;
  using palette_png_detail::put_chunk;
  const int height = static_cast<int>(indices.size()) / width;
  Bytes png = {137, 80, 78, 71, 13, 10, 26, 10};
  Bytes header;
  put32(header, static_cast<std::uint32_t>(width));
  put32(header, static_cast<std::uint32_t>(height));
  header.insert(header.end(), {8, 3, 0, 0, 0});
  put_chunk(png, "IHDR", header);
  Bytes colours;
  for (const auto& c : palette) colours.insert(colours.end(), c.begin(), c.end());
  put_chunk(png, "PLTE", colours);
  Bytes raw;
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);  // filter: none
    for (int x = 0; x < width; ++x) raw.push_back(static_cast<std::uint8_t>(indices[y * width + x]));
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  Bytes compressed(size);
  if (compress(compressed.data(), &size, raw.data(), static_cast<uLong>(raw.size())) != Z_OK) {
    throw std::runtime_error("zlib compress failed");
  }
  compressed.resize(size);
  put_chunk(png, "IDAT", compressed);
  put_chunk(png, "IEND", {});
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(png.data()),
                                              static_cast<std::streamsize>(png.size()));
  return path;
}

}  // namespace autotimm::testing
