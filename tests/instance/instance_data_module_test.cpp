// The instance segmentation data module: COCO polygons and CSV mask PNGs into batches of per-object masks that match
// their boxes and areas, masks that follow their pixels through the train transforms, and its messages.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>
#include <fstream>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/instance_segmentation_data_module.hpp"
#include "autotimm/data/synthetic_shapes.hpp"
#include "autotimm/error.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using autotimm::testing::error_text;

fs::path shapes(const autotimm::testing::TempDir& dir, ShapesTask task = ShapesTask::instance) {
  write_shapes_dataset({.out = dir.path() / "shapes", .train_images = 6, .val_images = 3, .image_size = 48,
                        .min_object_size = 10, .max_object_size = 18, .seed = 4, .task = task});
  return dir.path() / "shapes";
}

std::vector<Batch> drain(const DataLoader& loader) {
  std::vector<Batch> batches;
  auto pass = loader.epoch(0);
  while (auto batch = pass.next()) batches.push_back(std::move(*batch));
  return batches;
}

// At the original size the masks are the polygons' pixels: their count is the annotation's area, their extent the box.
TEST(InstanceSegmentationDataModule, MasksMatchTheirBoxesAndAreas) {
  autotimm::testing::TempDir dir;
  InstanceSegmentationDataModule data({.data_dir = shapes(dir), .image_size = 48, .batch_size = 3, .num_workers = 0});
  const auto batches = drain(*data.validation_loader());
  ASSERT_EQ(batches.size(), 1u);
  const Batch& batch = batches[0];
  ASSERT_EQ(batch.masks.size(), 3u);
  std::int64_t objects = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& masks = batch.masks[i];
    ASSERT_EQ(masks.scalar_type(), torch::kUInt8);
    ASSERT_EQ(masks.dim(), 3);
    ASSERT_EQ(masks.size(0), batch.boxes[i].size(0));
    EXPECT_EQ(masks.size(1), 48);
    EXPECT_EQ(masks.size(2), 48);
    for (std::int64_t k = 0; k < masks.size(0); ++k, ++objects) {
      const auto on = torch::nonzero(masks[k]);
      ASSERT_GT(on.size(0), 0);
      EXPECT_LE(masks[k].max().item<int>(), 1);
      // The generator's areas count the polygon's pixels, as COCO rasterises them.
      EXPECT_NEAR(static_cast<double>(on.size(0)), batch.areas[i][k].item<double>(),
                  0.05 * batch.areas[i][k].item<double>());
      const auto box = batch.boxes[i][k];
      EXPECT_NEAR(on.select(1, 1).min().item<double>(), box[0].item<double>(), 1.0);
      EXPECT_NEAR(on.select(1, 0).min().item<double>(), box[1].item<double>(), 1.0);
      EXPECT_NEAR(on.select(1, 1).max().item<double>() + 1, box[2].item<double>(), 1.0);
      EXPECT_NEAR(on.select(1, 0).max().item<double>() + 1, box[3].item<double>(), 1.0);
    }
  }
  EXPECT_GT(objects, 2);
}

// A mirror and a 2× letterbox move each mask with its image: the flipped batch's masks are the plain ones mirrored.
TEST(InstanceSegmentationDataModule, MasksFollowTheTrainTransforms) {
  autotimm::testing::TempDir dir;
  const auto root = shapes(dir);
  const auto make = [&](bool flip) {
    boost::json::array transforms{{{"name", "letterbox"}, {"size", 96}}};
    if (flip) transforms.push_back({{"name", "horizontal_flip"}, {"p", 1.0}});
    return InstanceSegmentationDataModule(
        {.data_dir = root, .image_size = 96, .transforms = transforms, .batch_size = 6, .num_workers = 0});
  };
  auto plain = make(false);
  auto flipped = make(true);
  const auto a = drain(plain.train_loader());
  const auto b = drain(flipped.train_loader());
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  for (std::size_t i = 0; i < a[0].masks.size(); ++i) {
    ASSERT_EQ(a[0].masks[i].sizes(), b[0].masks[i].sizes());
    EXPECT_EQ(a[0].masks[i].size(1), 96);
    EXPECT_TRUE(torch::equal(a[0].masks[i].flip({2}), b[0].masks[i])) << "image " << i;
    // Doubled: every mask pixel of the original became four.
    for (std::int64_t k = 0; k < a[0].masks[i].size(0); ++k) {
      EXPECT_NEAR(a[0].masks[i][k].sum().item<double>(), 4 * a[0].areas[i][k].item<double>(),
                  0.1 * 4 * a[0].areas[i][k].item<double>());
    }
  }
}

// A CSV of one mask PNG per object: the masks come back pixel for pixel.
TEST(InstanceSegmentationDataModule, ReadsACsvOfMaskImages) {
  autotimm::testing::TempDir dir;
  fs::create_directories(dir / "data");
  Image picture(32, 32, 3);
  write_image(dir / "data" / "a.png", picture);
  Image first(32, 32, 1), second(32, 32, 1);
  for (int y = 2; y < 6; ++y) {
    for (int x = 3; x < 9; ++x) first.at(x, y, 0) = 255;
  }
  for (int y = 8; y < 15; ++y) {
    for (int x = 10; x < 12; ++x) second.at(x, y, 0) = 1;
  }
  write_image(dir / "data" / "a_0.png", first);
  write_image(dir / "data" / "a_1.png", second);
  std::ofstream(dir / "data" / "train.csv") << "image,mask,label\na.png,a_0.png,cat\na.png,a_1.png,dog\n";
  InstanceSegmentationDataModule data({.data_dir = dir / "data",
                                       .train_csv = "train.csv",
                                       .image_size = 32,
                                       .transforms = boost::json::array{{{"name", "letterbox"}, {"size", 32}}},
                                       .batch_size = 1,
                                       .num_workers = 0});
  EXPECT_EQ(data.class_names(), (std::vector<std::string>{"cat", "dog"}));
  const auto batches = drain(data.train_loader());
  ASSERT_EQ(batches.size(), 1u);
  const auto& masks = batches[0].masks.at(0);
  ASSERT_EQ(masks.sizes(), (std::vector<std::int64_t>{2, 32, 32}));
  const auto expect = [](const Image& image) {
    return torch::from_blob(const_cast<std::uint8_t*>(image.pixels.data()), {32, 32}, torch::kUInt8).ne(0).to(torch::kUInt8);
  };
  EXPECT_TRUE(torch::equal(masks[0], expect(first)));
  EXPECT_TRUE(torch::equal(masks[1], expect(second)));
  EXPECT_TRUE(torch::allclose(batches[0].boxes[0], torch::tensor({{3.0f, 2.0f, 9.0f, 6.0f}, {10.0f, 8.0f, 12.0f, 15.0f}})));
  EXPECT_TRUE(torch::equal(batches[0].labels[0], torch::tensor({0, 1}, torch::kInt64)));
}

TEST(InstanceSegmentationDataModule, Messages) {
  autotimm::testing::TempDir dir;
  const auto root = shapes(dir, ShapesTask::detection);  // boxes only: no segmentation in the annotations
  InstanceSegmentationDataModule boxes_only({.data_dir = root, .image_size = 48, .num_workers = 0});
  const auto message = error_text([&] { boxes_only.setup(); });
  EXPECT_NE(message.find("segmentation"), std::string::npos) << message;
  fs::create_directories(dir / "yolo" / "labels" / "train");
  InstanceSegmentationDataModule yolo({.data_dir = dir / "yolo", .format = "yolo", .num_workers = 0});
  const auto yolo_message = error_text([&] { yolo.setup(); });
  EXPECT_NE(yolo_message.find("not YOLO labels; set format to coco or csv"), std::string::npos) << yolo_message;
}

}  // namespace
}  // namespace autotimm
