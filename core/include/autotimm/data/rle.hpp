#pragma once
// Binary masks as COCO run-length encodings (RLE): the form COCO annotation files store crowd regions and
// instance masks in, and the form mask IoU is computed on (COCO's maskApi rules; the code is ours). Plain C++, no
// torch: masks come in and go out as one-channel row-major bytes.
//
//   auto rle = autotimm::rle_from_polygons({{10, 10, 40, 10, 40, 30}}, 48, 64);   // height 48, width 64
//   rle.area();                                // foreground pixels
//   autotimm::rle_to_string(rle);              // COCO's compressed "counts" string
//   auto iou = autotimm::coco_mask_iou(detections, ground_truths, crowd);         // D × G, row-major
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/data/image.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

/// Runs over the pixels in column-major order (down each column, columns left to right), alternating background
/// and foreground and starting with background: a mask whose first pixel is foreground starts with a run of 0.
/// The counts sum to height × width.
struct AUTOTIMM_API Rle {
  int height = 0;
  int width = 0;
  std::vector<std::uint32_t> counts = {};

  /// Foreground pixels.
  std::uint64_t area() const noexcept;
  /// The tight box of the foreground as x1, y1, x2, y2 in pixels (x2 = last column + 1, COCO's toBbox x + w);
  /// all zeros for an empty mask.
  std::array<double, 4> box() const noexcept;
  bool operator==(const Rle& other) const = default;
};

/// `mask` is height × width bytes, row-major; nonzero is foreground.
AUTOTIMM_API Rle rle_encode(const std::uint8_t* mask, int height, int width);
/// A one-channel image (nonzero is foreground); ConfigError for more channels.
AUTOTIMM_API Rle rle_encode(const Image& mask);
/// Writes height × width bytes, row-major, 1 for foreground and 0 elsewhere.
AUTOTIMM_API void rle_decode(const Rle& rle, std::uint8_t* out);
/// A one-channel image of 0 / 1.
AUTOTIMM_API Image rle_decode(const Rle& rle);

/// COCO's compressed counts string (the "counts" of an annotation whose "size" is [height, width]). FormatError
/// when the string is malformed (a character outside '0'..'o', a run cut short, a negative run) or its runs do not
/// sum to height × width; the message says which.
AUTOTIMM_API Rle rle_from_string(std::string_view counts, int height, int width);
AUTOTIMM_API std::string rle_to_string(const Rle& rle);
/// COCO's uncompressed form (a JSON array of run lengths); FormatError for a negative run or a wrong sum.
AUTOTIMM_API Rle rle_from_counts(const std::vector<std::int64_t>& counts, int height, int width);

/// COCO polygons ([x1, y1, x2, y2, ...] in pixels, any number of parts) rasterised as pycocotools' frPyObjects
/// does (each part by rleFrPoly, the parts merged by union). FormatError for a part with fewer than three points
/// or an odd or non-finite coordinate list.
AUTOTIMM_API Rle rle_from_polygons(const std::vector<std::vector<double>>& polygons, int height, int width);

/// Union (or intersection) of masks of one size; ConfigError when the sizes differ. No masks: an empty Rle.
AUTOTIMM_API Rle rle_merge(const std::vector<Rle>& rles, bool intersect = false);

/// COCO's mask IoU (maskApi rleIou): a D × G row-major matrix; for a crowd column (gt_crowd[g] != 0) the
/// intersection is divided by the detection's area instead of the union. ConfigError when sizes differ or
/// gt_crowd is not G long.
AUTOTIMM_API std::vector<double> coco_mask_iou(const std::vector<Rle>& detections, const std::vector<Rle>& ground_truths,
                                               const std::vector<std::uint8_t>& gt_crowd);

}  // namespace autotimm
