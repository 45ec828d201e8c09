#pragma once
// An 8-bit image in memory, the unit the data pipeline decodes, augments and collates: interleaved channels (RGB,
// or one for gray), rows tightly packed. Plain data so public headers need neither OpenCV nor torch.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "autotimm/export.hpp"

namespace autotimm {

struct AUTOTIMM_API Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<std::uint8_t> pixels = {};  ///< height × width × channels bytes

  Image() = default;
  /// Zero-filled.
  Image(int width, int height, int channels);

  bool empty() const noexcept { return width == 0 || height == 0; }
  std::size_t row_bytes() const noexcept { return static_cast<std::size_t>(width) * channels; }
  std::uint8_t* row(int y) noexcept { return pixels.data() + y * row_bytes(); }
  const std::uint8_t* row(int y) const noexcept { return pixels.data() + y * row_bytes(); }
  std::uint8_t& at(int x, int y, int c) noexcept { return row(y)[x * channels + c]; }
  std::uint8_t at(int x, int y, int c) const noexcept { return row(y)[x * channels + c]; }
};

/// A rectangle in pixel coordinates: the region a crop or a resize reads.
struct PixelRect {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

}  // namespace autotimm
