// The generated shapes dataset: deterministic, its boxes, areas and masks describe the same pixels, objects never
// overlap, the COCO files hold what the images show, each task writes its labels only, and bad options are named.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/synthetic_shapes.hpp"
#include "autotimm/error.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::error_text;

boost::json::value read_json(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str());
}

TEST(SyntheticShapes, SamplesAreDeterministicAndSelfConsistent) {
  const ShapesDatasetOptions options{.image_size = 96, .max_objects = 5, .seed = 7};
  const auto a = make_shapes_sample(options, 1, 3);
  const auto b = make_shapes_sample(options, 1, 3);
  EXPECT_EQ(a.image.pixels, b.image.pixels);
  EXPECT_NE(a.image.pixels, make_shapes_sample(options, 1, 4).image.pixels);
  EXPECT_NE(a.image.pixels, make_shapes_sample(options, 2, 3).image.pixels);  // the other split

  int total_objects = 0;
  for (std::int64_t index = 0; index < 20; ++index) {
    const auto sample = make_shapes_sample(options, 1, index);
    ASSERT_GE(sample.objects.size(), 1u);
    ASSERT_LE(sample.objects.size(), 5u);
    std::int64_t labelled = 0;
    for (const auto p : sample.mask.pixels) labelled += p != 0;
    double areas = 0;
    for (std::size_t i = 0; i < sample.objects.size(); ++i) {
      const auto& o = sample.objects[i];
      areas += o.area;
      const int x0 = static_cast<int>(o.bbox[0]), y0 = static_cast<int>(o.bbox[1]);
      const int x1 = x0 + static_cast<int>(o.bbox[2]), y1 = y0 + static_cast<int>(o.bbox[3]);
      // The box is tight around exactly `area` pixels of the object's category, and each edge touches one.
      std::int64_t inside = 0;
      bool top = false, bottom = false, left = false, right = false;
      for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
          if (sample.mask.at(x, y, 0) != o.category) continue;
          ++inside;
          top |= y == y0, bottom |= y == y1 - 1, left |= x == x0, right |= x == x1 - 1;
        }
      }
      EXPECT_EQ(inside, static_cast<std::int64_t>(o.area));
      EXPECT_TRUE(top && bottom && left && right);
      EXPECT_GE(o.category, 1);
      EXPECT_LE(o.category, 3);
      EXPECT_GE(o.polygon.size(), 6u);
      for (std::size_t j = 0; j < i; ++j) {  // no two boxes touch
        const auto& p = sample.objects[j];
        EXPECT_TRUE(o.bbox[0] >= p.bbox[0] + p.bbox[2] || p.bbox[0] >= o.bbox[0] + o.bbox[2] ||
                    o.bbox[1] >= p.bbox[1] + p.bbox[3] || p.bbox[1] >= o.bbox[1] + o.bbox[3]);
      }
    }
    EXPECT_EQ(static_cast<double>(labelled), areas);  // every labelled pixel belongs to one object
    total_objects += static_cast<int>(sample.objects.size());
  }
  EXPECT_GT(total_objects, 40);  // about 3 per image on average
}

TEST(SyntheticShapes, WritesCocoFilesAndMasks) {
  testing::TempDir dir;
  const ShapesDatasetOptions options{.out = dir.path() / "shapes", .train_images = 5, .val_images = 2, .image_size = 64,
                                     .max_object_size = 24, .seed = 3};
  write_shapes_dataset(options);
  for (const auto& [split, count] : {std::pair<std::string, int>{"train", 5}, {"val", 2}}) {
    SCOPED_TRACE(split);
    const auto coco = read_json(options.out / "annotations" / ("instances_" + split + ".json")).as_object();
    const auto& images = coco.at("images").as_array();
    ASSERT_EQ(images.size(), static_cast<std::size_t>(count));
    const auto& categories = coco.at("categories").as_array();
    ASSERT_EQ(categories.size(), 3u);
    EXPECT_EQ(categories[1].at("name").as_string(), "ellipse");
    EXPECT_EQ(categories[1].at("id").as_int64(), 2);
    std::size_t objects = 0;
    for (int i = 0; i < count; ++i) {
      const auto name = std::string(images[i].at("file_name").as_string());
      const auto image = decode_image(options.out / "images" / split / name);
      EXPECT_EQ(image.width, 64);
      const auto mask = decode_image(options.out / "masks" / split / name);  // decoded as three equal channels
      const auto sample = make_shapes_sample(options, split == "train" ? 1 : 2, i);
      std::vector<std::uint8_t> ids;
      for (std::size_t p = 0; p < mask.pixels.size(); p += 3) ids.push_back(mask.pixels[p]);
      EXPECT_EQ(ids, sample.mask.pixels);  // PNG is lossless
      objects += sample.objects.size();
    }
    const auto& annotations = coco.at("annotations").as_array();
    ASSERT_EQ(annotations.size(), objects);
    const auto& first = annotations.front().as_object();
    EXPECT_EQ(first.at("iscrowd").as_int64(), 0);
    EXPECT_EQ(first.at("bbox").as_array().size(), 4u);
    EXPECT_TRUE(first.contains("segmentation"));
  }
}

TEST(SyntheticShapes, EachTaskWritesItsLabels) {
  testing::TempDir dir;
  write_shapes_dataset({.out = dir.path() / "det", .train_images = 2, .val_images = 0, .image_size = 48,
                        .max_object_size = 16, .task = ShapesTask::detection});
  EXPECT_FALSE(fs::exists(dir.path() / "det" / "masks"));
  EXPECT_FALSE(fs::exists(dir.path() / "det" / "annotations" / "instances_val.json"));
  const auto coco = read_json(dir.path() / "det" / "annotations" / "instances_train.json").as_object();
  for (const auto& a : coco.at("annotations").as_array()) EXPECT_FALSE(a.as_object().contains("segmentation"));
  write_shapes_dataset({.out = dir.path() / "seg", .train_images = 2, .val_images = 1, .image_size = 48,
                        .max_object_size = 16, .task = ShapesTask::segmentation});
  EXPECT_FALSE(fs::exists(dir.path() / "seg" / "annotations"));
  EXPECT_TRUE(fs::exists(dir.path() / "seg" / "masks" / "val" / "000000.png"));
}

TEST(SyntheticShapes, ImpossibleOptionsAreNamed) {
  EXPECT_EQ(error_text([] { write_shapes_dataset({}); }), "shapes dataset: an output folder is required");
  EXPECT_EQ(error_text([] { write_shapes_dataset({.out = "x", .image_size = 32, .max_object_size = 48}); }),
            "shapes dataset: object sizes must satisfy 4 <= min_object_size <= max_object_size <= image_size, got "
            "16, 48 and 32");
  EXPECT_EQ(error_text([] { write_shapes_dataset({.out = "x", .min_objects = 20, .max_objects = 20}); }),
            "shapes dataset: 20 objects of up to 48 pixels do not surely fit in 128 pixels; lower min_objects or "
            "max_object_size");
}

}  // namespace
}  // namespace autotimm
