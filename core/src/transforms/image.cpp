#include "autotimm/data/image.hpp"

#include "autotimm/error.hpp"

namespace autotimm {

Image::Image(int width, int height, int channels) : width(width), height(height), channels(channels) {
  if (width < 0 || height < 0 || channels < 1 || channels > 4) {
    throw ConfigError("invalid image shape " + std::to_string(width) + "x" + std::to_string(height) + "x" +
                      std::to_string(channels) + ": sizes must be >= 0 and channels 1..4");
  }
  pixels.assign(static_cast<std::size_t>(width) * height * channels, 0);
}

}  // namespace autotimm
