#pragma once
// Where an object's instance mask comes from, as the readers find it: COCO polygons, a COCO RLE, or a PNG of its
// own (one per object). Readers keep the source (small) and the loader's workers decode it at the image's size,
// so a large annotation file is not held as pixels. Plain C++, no torch.
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "autotimm/data/image.hpp"
#include "autotimm/data/rle.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct InstanceMaskSource {
  std::vector<std::vector<double>> polygons = {};  ///< COCO polygons in the image's pixels
  std::optional<Rle> rle = {};                     ///< a COCO RLE (compressed strings are decoded when read)
  std::filesystem::path png = {};                  ///< a mask image of the object: nonzero pixels are the object

  bool empty() const noexcept { return polygons.empty() && !rle && png.empty(); }
};

/// The object's mask on a width × height image: one channel, 1 on the object and 0 elsewhere. FormatError naming
/// `where` (the image or annotation, for messages) when an RLE or PNG has another size, a PNG cannot be decoded, or
/// the source is empty.
AUTOTIMM_API Image decode_instance_mask(const InstanceMaskSource& source, int width, int height, std::string_view where);

}  // namespace autotimm
