#pragma once
// Small generated image sets the trainer tests learn: one colour per class (red, green, blue, ...) with per-pixel
// noise, written as PNG files in the ImageFolder layout, so a tiny model reaches near-perfect accuracy in seconds.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/image.hpp"
#include "autotimm/data/random.hpp"

namespace autotimm::testing {

inline const std::vector<std::string>& color_classes() {
  static const std::vector<std::string> names = {"blue", "green", "red"};
  return names;
}

/// An image of class `index` of color_classes(): that channel high, the others low, plus noise.
inline Image color_image(std::size_t index, int size, SampleRng& rng) {
  Image image(size, size, 3);
  // blue, green, red in sorted order → channels 2, 1, 0
  const int channel = 2 - static_cast<int>(index);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      for (int c = 0; c < 3; ++c) {
        const double base = c == channel ? 190.0 : 60.0;
        const double value = base + rng.uniform(-50.0, 50.0);
        image.at(x, y, c) = static_cast<std::uint8_t>(value);
      }
    }
  }
  return image;
}

/// root/{train,val,test}/<class>/<n>.png with the given counts per class.
inline void write_color_folder(const std::filesystem::path& root, int train_per_class, int val_per_class,
                               int test_per_class, int size = 16, std::uint64_t seed = 7) {
  SampleRng rng(seed);
  const std::pair<const char*, int> splits[] = {{"train", train_per_class}, {"val", val_per_class},
                                                {"test", test_per_class}};
  for (const auto& [split, count] : splits) {
    for (std::size_t k = 0; k < color_classes().size(); ++k) {
      const auto dir = root / split / color_classes()[k];
      std::filesystem::create_directories(dir);
      for (int i = 0; i < count; ++i) write_image(dir / (std::to_string(i) + ".png"), color_image(k, size, rng));
    }
  }
}

}  // namespace autotimm::testing
