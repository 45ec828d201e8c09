#pragma once
// Small datasets written by the tests themselves: class folders of PNG/JPEG files, CSVs, gzip IDX files, and a
// corrupt image.
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/image.hpp"

namespace autotimm::testing {

/// A width × height RGB image filled with `value` (red), its index (green) and a gradient (blue).
inline Image solid_image(int width, int height, int value, int index = 0) {
  Image image(width, height, 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.at(x, y, 0) = static_cast<std::uint8_t>(value);
      image.at(x, y, 1) = static_cast<std::uint8_t>(index);
      image.at(x, y, 2) = static_cast<std::uint8_t>((x * 255) / std::max(width - 1, 1));
    }
  }
  return image;
}

/// root/<class>/<class>_<i>.png for each class and count; the red channel is 40 × the class index.
inline void write_class_folders(const std::filesystem::path& root, const std::vector<std::string>& classes,
                                const std::vector<int>& counts, int width = 12, int height = 10) {
  for (std::size_t c = 0; c < classes.size(); ++c) {
    std::filesystem::create_directories(root / classes[c]);
    for (int i = 0; i < counts[c]; ++i) {
      write_image(root / classes[c] / (classes[c] + "_" + std::to_string(i) + ".png"),
                  solid_image(width, height, static_cast<int>(40 * c), i));
    }
  }
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

/// An IDX file (gzip) with the given magic dims and payload.
inline void write_idx_gz(const std::filesystem::path& path, const std::vector<std::uint32_t>& dims,
                         const std::vector<std::uint8_t>& payload) {
  std::string bytes = {'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (const auto dim : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>((dim >> shift) & 0xff);
  }
  bytes.append(payload.begin(), payload.end());
  gzFile file = gzopen(path.c_str(), "wb");
  gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
}

}  // namespace autotimm::testing
