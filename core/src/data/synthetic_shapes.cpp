// The generated shapes dataset: objects drawn from polygons with a pixel-centre test, so the polygon, the mask, the
// box and the area describe exactly the same pixels; placed without overlap, so nothing hides anything.
#include "autotimm/data/synthetic_shapes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>

#include <boost/json.hpp>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/random.hpp"
#include "autotimm/error.hpp"
#include "autotimm/io/atomic_file.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;

constexpr int kEllipsePoints = 32;
constexpr int kMargin = 2;  // pixels kept free between objects

struct Box {
  int x0, y0, x1, y1;  // inclusive corners of the bounding square area reserved for an object
};

bool overlaps(const Box& a, const Box& b) {
  return a.x0 <= b.x1 + kMargin && b.x0 <= a.x1 + kMargin && a.y0 <= b.y1 + kMargin && b.y0 <= a.y1 + kMargin;
}

// Even-odd rule at (x, y).
bool inside(const std::vector<double>& polygon, double x, double y) {
  bool in = false;
  const std::size_t n = polygon.size() / 2;
  for (std::size_t i = 0, j = n - 1; i < n; j = i++) {
    const double xi = polygon[2 * i], yi = polygon[2 * i + 1], xj = polygon[2 * j], yj = polygon[2 * j + 1];
    if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) in = !in;
  }
  return in;
}

std::vector<double> polygon_of(int category, double x, double y, double w, double h) {
  switch (category) {
    case 1:  // rectangle
      return {x, y, x + w, y, x + w, y + h, x, y + h};
    case 2: {  // ellipse, as a 32-gon
      std::vector<double> points;
      for (int k = 0; k < kEllipsePoints; ++k) {
        const double angle = 2.0 * std::numbers::pi * k / kEllipsePoints;
        points.push_back(x + w / 2 + w / 2 * std::cos(angle));
        points.push_back(y + h / 2 + h / 2 * std::sin(angle));
      }
      return points;
    }
    default:  // triangle, apex up
      return {x + w / 2, y, x + w, y + h, x, y + h};
  }
}

void validate(const ShapesDatasetOptions& o) {
  const auto fail = [](const std::string& what) { throw ConfigError("shapes dataset: " + what); };
  if (o.out.empty()) fail("an output folder is required");
  if (o.train_images < 1) fail("train_images must be at least 1, got " + std::to_string(o.train_images));
  if (o.val_images < 0) fail("val_images must not be negative, got " + std::to_string(o.val_images));
  if (o.image_size < 16) fail("image_size must be at least 16 pixels, got " + std::to_string(o.image_size));
  if (o.min_object_size < 4 || o.max_object_size < o.min_object_size || o.max_object_size > o.image_size) {
    fail("object sizes must satisfy 4 <= min_object_size <= max_object_size <= image_size, got " +
         std::to_string(o.min_object_size) + ", " + std::to_string(o.max_object_size) + " and " +
         std::to_string(o.image_size));
  }
  if (o.min_objects < 0 || o.max_objects < o.min_objects) {
    fail("object counts must satisfy 0 <= min_objects <= max_objects, got " + std::to_string(o.min_objects) +
         " and " + std::to_string(o.max_objects));
  }
  // min_objects must fit side by side even at the largest size.
  const int per_row = o.image_size / (o.max_object_size + kMargin + 1);
  if (o.min_objects > per_row * per_row) {
    fail(std::to_string(o.min_objects) + " objects of up to " + std::to_string(o.max_object_size) +
         " pixels do not surely fit in " + std::to_string(o.image_size) +
         " pixels; lower min_objects or max_object_size");
  }
}

std::string file_name(std::int64_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "%06lld.png", static_cast<long long>(index));
  return name;
}

boost::json::object coco_json(const ShapesDatasetOptions& o, const std::vector<ShapesSample>& samples,
                              bool polygons) {
  boost::json::array images, annotations, categories;
  std::int64_t annotation_id = 1;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto image_id = static_cast<std::int64_t>(i) + 1;
    images.push_back({{"id", image_id},
                      {"file_name", file_name(static_cast<std::int64_t>(i))},
                      {"width", o.image_size},
                      {"height", o.image_size}});
    for (const auto& object : samples[i].objects) {
      boost::json::object a{{"id", annotation_id++},
                            {"image_id", image_id},
                            {"category_id", object.category},
                            {"bbox", boost::json::array(object.bbox.begin(), object.bbox.end())},
                            {"area", object.area},
                            {"iscrowd", 0}};
      if (polygons) {
        a["segmentation"] = boost::json::array{boost::json::array(object.polygon.begin(), object.polygon.end())};
      }
      annotations.push_back(std::move(a));
    }
  }
  const auto& names = shape_category_names();
  for (std::size_t c = 0; c < names.size(); ++c) {
    categories.push_back({{"id", static_cast<std::int64_t>(c) + 1}, {"name", names[c]}, {"supercategory", "shape"}});
  }
  return {{"info", {{"description", "autotimm generated shapes"}, {"seed", o.seed}}},
          {"images", std::move(images)},
          {"annotations", std::move(annotations)},
          {"categories", std::move(categories)}};
}

}  // namespace

const std::array<std::string, 3>& shape_category_names() {
  static const std::array<std::string, 3> names = {"rectangle", "ellipse", "triangle"};
  return names;
}

ShapesSample make_shapes_sample(const ShapesDatasetOptions& o, std::uint64_t split_seed, std::int64_t index) {
  SampleRng rng(o.seed, split_seed, static_cast<std::uint64_t>(index));
  const int size = o.image_size;
  ShapesSample sample{Image(size, size, 3), Image(size, size, 1), {}};
  // A dark background with a gradient and noise, so the objects are not the only texture.
  const double base[3] = {rng.uniform(10, 70), rng.uniform(10, 70), rng.uniform(10, 70)};
  const double slope = rng.uniform(-0.2, 0.2);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      for (int c = 0; c < 3; ++c) {
        const double v = base[c] + slope * (x + y) + rng.normal(0.0, 6.0);
        sample.image.at(x, y, c) = static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
      }
    }
  }

  std::vector<Box> taken;
  const auto count = rng.integer(o.min_objects, o.max_objects);
  for (std::int64_t k = 0; k < count; ++k) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      const int side = static_cast<int>(rng.integer(o.min_object_size, o.max_object_size));
      const int w = std::max(4, static_cast<int>(side * rng.uniform(0.6, 1.0)));
      const int h = std::max(4, static_cast<int>(side * rng.uniform(0.6, 1.0)));
      const int x = static_cast<int>(rng.integer(0, size - w));
      const int y = static_cast<int>(rng.integer(0, size - h));
      const Box box{x, y, x + w - 1, y + h - 1};
      if (std::any_of(taken.begin(), taken.end(), [&](const Box& other) { return overlaps(box, other); })) continue;
      taken.push_back(box);

      ShapeObject object;
      object.category = static_cast<int>(rng.integer(1, 3));
      object.polygon = polygon_of(object.category, x, y, w, h);
      // Colour leans to the category's channel (red, green, blue) so a tiny model can learn quickly.
      std::array<double, 3> colour = {rng.uniform(90, 150), rng.uniform(90, 150), rng.uniform(90, 150)};
      colour[static_cast<std::size_t>(object.category - 1)] = rng.uniform(200, 255);
      int min_x = size, min_y = size, max_x = -1, max_y = -1;
      std::int64_t pixels = 0;
      for (int py = y; py < y + h; ++py) {
        for (int px = x; px < x + w; ++px) {
          if (!inside(object.polygon, px + 0.5, py + 0.5)) continue;
          for (int c = 0; c < 3; ++c) sample.image.at(px, py, c) = static_cast<std::uint8_t>(colour[c]);
          sample.mask.at(px, py, 0) = static_cast<std::uint8_t>(object.category);
          min_x = std::min(min_x, px), max_x = std::max(max_x, px);
          min_y = std::min(min_y, py), max_y = std::max(max_y, py);
          ++pixels;
        }
      }
      if (pixels == 0) break;  // cannot happen with sides >= 4; a shape without pixels is not an object
      object.bbox = {static_cast<double>(min_x), static_cast<double>(min_y), static_cast<double>(max_x - min_x + 1),
                     static_cast<double>(max_y - min_y + 1)};
      object.area = static_cast<double>(pixels);
      sample.objects.push_back(std::move(object));
      break;
    }
  }
  return sample;
}

void write_shapes_dataset(const ShapesDatasetOptions& o) {
  validate(o);
  const bool boxes = o.task != ShapesTask::segmentation;
  const bool polygons = o.task == ShapesTask::instance || o.task == ShapesTask::all;
  const bool masks = o.task == ShapesTask::segmentation || o.task == ShapesTask::all;
  const std::pair<const char*, std::int64_t> splits[] = {{"train", o.train_images}, {"val", o.val_images}};
  for (std::uint64_t s = 0; s < 2; ++s) {
    const auto& [split, count] = splits[s];
    if (count == 0) continue;
    fs::create_directories(o.out / "images" / split);
    if (masks) fs::create_directories(o.out / "masks" / split);
    std::vector<ShapesSample> samples;
    for (std::int64_t i = 0; i < count; ++i) {
      samples.push_back(make_shapes_sample(o, s + 1, i));
      const auto name = file_name(i);
      write_image(o.out / "images" / split / name, samples.back().image);
      if (masks) write_image(o.out / "masks" / split / name, samples.back().mask);
    }
    if (boxes) {
      const auto json = boost::json::serialize(coco_json(o, samples, polygons));
      fs::create_directories(o.out / "annotations");
      write_file_atomically(o.out / "annotations" / ("instances_" + std::string(split) + ".json"), json);
    }
  }
}

}  // namespace autotimm
