// COCO instance annotations: boxes converted to corners, category ids mapped to contiguous labels with their names,
// crowd regions kept and marked, degenerate and small boxes left out and counted, and every malformed entry named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "autotimm/data/coco_detection.hpp"
#include "autotimm/data/synthetic_shapes.hpp"
#include "autotimm/error.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::error_text;

fs::path write(const testing::TempDir& dir, const std::string& name, const std::string& text) {
  const auto path = dir.path() / name;
  std::ofstream(path) << text;
  return path;
}

constexpr const char* kCategories = R"("categories": [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"},
                                                      {"id": 5, "name": "airplane"}])";

TEST(CocoDetection, BoxesLabelsCrowdAndFilters) {
  testing::TempDir dir;
  const auto file = write(dir, "instances.json", std::string(R"({"images": [
      {"id": 7, "file_name": "a.jpg", "width": 640, "height": 480},
      {"id": 3, "file_name": "b.jpg", "width": 100, "height": 50}],
    "annotations": [
      {"id": 1, "image_id": 7, "category_id": 5, "bbox": [10, 20, 30, 40], "area": 900.5, "iscrowd": 0},
      {"id": 2, "image_id": 7, "category_id": 90, "bbox": [0.5, 0, 2, 2], "iscrowd": 1},
      {"id": 3, "image_id": 3, "category_id": 1, "bbox": [5, 5, 0, 10]},
      {"id": 4, "image_id": 3, "category_id": 1, "bbox": [1, 1, 1, 1]},
      {"id": 5, "image_id": 3, "category_id": 1, "bbox": [1, 2, 20, 10]}],
    )") + kCategories + "}");
  const auto data = read_coco_detection(file, dir.path() / "images", {.min_bbox_area = 2.0});
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"person", "airplane", "toothbrush"}));  // ids 1, 5, 90
  EXPECT_EQ(data.category_ids, (std::vector<std::int64_t>{1, 5, 90}));
  ASSERT_EQ(data.records.size(), 2u);
  EXPECT_EQ(data.records[0].image, dir.path() / "images" / "a.jpg");
  EXPECT_EQ(data.records[0].width, 640);
  ASSERT_EQ(data.records[0].annotations.size(), 2u);
  const auto& plane = data.records[0].annotations[0];
  EXPECT_EQ(plane.box, (std::array<double, 4>{10, 20, 40, 60}));
  EXPECT_EQ(plane.label, 1);
  EXPECT_EQ(plane.category_id, 5);
  EXPECT_DOUBLE_EQ(plane.area, 900.5);
  EXPECT_FALSE(plane.iscrowd);
  const auto& crowd = data.records[0].annotations[1];
  EXPECT_TRUE(crowd.iscrowd);
  EXPECT_EQ(crowd.label, 2);
  EXPECT_DOUBLE_EQ(crowd.area, 4.0);  // no 'area': the box's
  // Image 3: the zero-width box and the 1×1 box (under min_bbox_area 2) are left out and counted.
  ASSERT_EQ(data.records[1].annotations.size(), 1u);
  EXPECT_EQ(data.records[1].annotations[0].id, 5);
  EXPECT_EQ(data.dropped_degenerate, 1);
  EXPECT_EQ(data.dropped_small, 1);
}

TEST(CocoDetection, ReadsTheGeneratedShapes) {
  testing::TempDir dir;
  const ShapesDatasetOptions options{.out = dir.path(), .train_images = 4, .val_images = 0, .image_size = 64,
                                     .max_object_size = 24, .seed = 11, .task = ShapesTask::detection};
  write_shapes_dataset(options);
  const auto data =
      read_coco_detection(dir.path() / "annotations" / "instances_train.json", dir.path() / "images" / "train");
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"rectangle", "ellipse", "triangle"}));
  ASSERT_EQ(data.records.size(), 4u);
  for (std::int64_t i = 0; i < 4; ++i) {
    const auto sample = make_shapes_sample(options, 1, i);
    const auto& record = data.records[static_cast<std::size_t>(i)];
    EXPECT_TRUE(fs::exists(record.image));
    ASSERT_EQ(record.annotations.size(), sample.objects.size());
    for (std::size_t k = 0; k < sample.objects.size(); ++k) {
      const auto& b = sample.objects[k].bbox;
      EXPECT_EQ(record.annotations[k].box, (std::array<double, 4>{b[0], b[1], b[0] + b[2], b[1] + b[3]}));
      EXPECT_EQ(record.annotations[k].label, sample.objects[k].category - 1);
    }
  }
}

TEST(CocoDetection, MalformedEntriesAreNamed) {
  testing::TempDir dir;
  const auto read = [&](const std::string& text) {
    return error_text([&] { read_coco_detection(write(dir, "bad.json", text), dir.path()); });
  };
  const std::string where = "COCO annotations '" + (dir.path() / "bad.json").string() + "': ";
  const std::string image = R"("images": [{"id": 1, "file_name": "a.png", "width": 8, "height": 8}])";
  EXPECT_EQ(read("[1, 2]"), where + "the top level: expected an object");
  EXPECT_EQ(read(R"({"images": []})"), where + "the top level: expected an array 'categories'");
  EXPECT_EQ(read(std::string("{") + image + R"(, "annotations": [{"id": 4, "image_id": 2, "category_id": 1,
      "bbox": [0, 0, 1, 1]}], )" + kCategories + "}"),
            where + "annotation 4: image_id 2 is not in 'images'");
  EXPECT_EQ(read(std::string("{") + image + R"(, "annotations": [{"id": 4, "image_id": 1, "category_id": 2,
      "bbox": [0, 0, 1, 1]}], )" + kCategories + "}"),
            where + "annotation 4: category_id 2 is not in 'categories'");
  EXPECT_EQ(read(std::string("{") + image + R"(, "annotations": [{"id": 4, "image_id": 1, "category_id": 1,
      "bbox": [0, 0, 1]}], )" + kCategories + "}"),
            where + "annotation 4: 'bbox' must be [x, y, width, height], got 3 numbers");
  EXPECT_EQ(read(std::string("{") + image + R"(, "annotations": [{"id": 4, "image_id": 1, "category_id": 1,
      "bbox": [0, 0, -1, 1]}], )" + kCategories + "}"),
            where + "annotation 4: 'bbox' has a negative width or height");
  EXPECT_EQ(read(std::string("{") + image + R"(, "annotations": [{"id": 4, "image_id": 1, "category_id": 1,
      "bbox": [0, "x", 1, 1]}], )" + kCategories + "}"),
            where + "annotation 4 bbox: expected a number");
  EXPECT_EQ(read(R"({"images": [{"id": 1, "file_name": "a.png", "width": 8, "height": 8},
      {"id": 1, "file_name": "b.png", "width": 8, "height": 8}], )" + std::string(kCategories) + "}"),
            where + "image 1 is listed twice");
  EXPECT_EQ(read(R"({"images": [{"id": 1, "width": 8, "height": 8}], )" + std::string(kCategories) + "}"),
            where + "image 1: expected a string 'file_name'");
  EXPECT_NE(read("{not json").find("are not valid JSON"), std::string::npos);
  // Oversized files are refused before they are read.
  const auto big = write(dir, "big.json", std::string("{") + image + ", " + kCategories + "}");
  EXPECT_NE(error_text([&] { read_coco_detection(big, dir.path(), {.max_file_bytes = 10}); }).find("over the limit of 10"),
            std::string::npos);
}

}  // namespace
}  // namespace autotimm
