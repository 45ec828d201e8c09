#pragma once
// A tiny generated dataset for the dense tasks' tests and demos: images with rectangles, ellipses and triangles at
// known places, written with COCO annotations (boxes, polygons, areas) and per-pixel class masks, so detection,
// instance and semantic segmentation can learn from the same folder. Deterministic for a seed.
//
//   autotimm::write_shapes_dataset({.out = "shapes", .train_images = 64, .val_images = 16});
//   // shapes/images/{train,val}/000000.png, shapes/annotations/instances_{train,val}.json,
//   // shapes/masks/{train,val}/000000.png (0 background, 1 rectangle, 2 ellipse, 3 triangle)
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "autotimm/data/image.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

/// What to write: COCO boxes only, boxes and polygons, class masks only, or everything.
enum class ShapesTask { detection, instance, segmentation, all };

struct ShapesDatasetOptions {
  std::filesystem::path out = {};
  std::int64_t train_images = 64;
  std::int64_t val_images = 16;
  int image_size = 128;   ///< square images
  int min_objects = 1;
  int max_objects = 4;
  int min_object_size = 16;  ///< pixels, the side of the shape's bounding square
  int max_object_size = 48;
  std::uint64_t seed = 0;
  ShapesTask task = ShapesTask::all;
};

/// The category names, COCO ids 1, 2, 3 in this order (mask values equal the ids; 0 is background).
AUTOTIMM_API const std::array<std::string, 3>& shape_category_names();

/// One drawn object: its category id, its polygon (x, y pairs, pixel coordinates), and the tight box of the pixels
/// it covers (x, y, width, height, COCO's bbox) with that pixel count as its area.
struct ShapeObject {
  int category = 1;
  std::vector<double> polygon = {};
  std::array<double, 4> bbox = {};
  double area = 0.0;
};

/// One generated image and its objects (objects never overlap, so boxes and masks are exact).
struct ShapesSample {
  Image image;
  Image mask;  ///< one channel, category id per pixel
  std::vector<ShapeObject> objects;
};

/// Sample `index` of the split seeded with `seed` (the same arguments give the same sample).
AUTOTIMM_API ShapesSample make_shapes_sample(const ShapesDatasetOptions& options, std::uint64_t split_seed,
                                             std::int64_t index);

/// Writes both splits under `options.out` (files replaced atomically; the folder may exist). ConfigError for
/// impossible options (sizes that do not fit the image, more objects than fit, no images).
AUTOTIMM_API void write_shapes_dataset(const ShapesDatasetOptions& options);

}  // namespace autotimm
