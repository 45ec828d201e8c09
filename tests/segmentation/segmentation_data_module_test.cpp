// The segmentation data module on the generated shapes: label maps in batches as [B, H, W] int64, letterbox padding
// ignored, labels that follow their pixels through the train transforms, layouts and messages.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>
#include <set>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/segmentation_data_module.hpp"
#include "autotimm/data/synthetic_shapes.hpp"
#include "autotimm/error.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using autotimm::testing::error_text;

const std::vector<std::string> kNames = {"background", "rectangle", "ellipse", "triangle"};

fs::path shapes(const autotimm::testing::TempDir& dir, int size = 48) {
  write_shapes_dataset({.out = dir.path() / "shapes", .train_images = 6, .val_images = 3, .image_size = size,
                        .min_object_size = 10, .max_object_size = 18, .seed = 4, .task = ShapesTask::segmentation});
  return dir.path() / "shapes";
}

std::vector<Batch> drain(const DataLoader& loader) {
  std::vector<Batch> batches;
  auto pass = loader.epoch(0);
  while (auto batch = pass.next()) batches.push_back(std::move(*batch));
  return batches;
}

TEST(SegmentationDataModule, BatchesCarryLabelMaps) {
  autotimm::testing::TempDir dir;
  SegmentationDataModule data({.data_dir = shapes(dir), .class_names = kNames, .image_size = 32, .batch_size = 4,
                               .num_workers = 0});
  EXPECT_EQ(data.class_names(), kNames);
  for (const Batch& batch : drain(data.train_loader())) {
    EXPECT_EQ(batch.targets.dim(), 3);
    EXPECT_EQ(batch.targets.scalar_type(), torch::kInt64);
    EXPECT_EQ(batch.targets.size(1), 32);
    EXPECT_EQ(batch.targets.size(2), 32);
    std::set<std::int64_t> values;
    const auto flat = batch.targets.flatten();
    for (std::int64_t i = 0; i < flat.numel(); ++i) values.insert(flat[i].item<std::int64_t>());
    for (const auto v : values) EXPECT_TRUE(v <= 3 || v == 255) << v;
  }
}

TEST(SegmentationDataModule, EvaluationLetterboxPadsWithIgnoreAndKeepsTheLabels) {
  autotimm::testing::TempDir dir;
  const auto root = shapes(dir);
  // 48-pixel images letterboxed to 64: scaled by 4/3, no padding; with a 2:1 train transform list instead, padding.
  SegmentationDataModule data({.data_dir = root, .class_names = kNames, .image_size = 64, .batch_size = 3,
                               .num_workers = 0});
  const auto batches = drain(*data.validation_loader());
  ASSERT_EQ(batches.size(), 1u);
  const Batch& batch = batches[0];
  EXPECT_DOUBLE_EQ(batch.input_maps[0][0].item<double>(), 64.0 / 48.0);
  EXPECT_TRUE(batch.orig_sizes.equal(torch::full({3, 2}, 48, torch::kInt64)));
  // The label maps are the mask files resized by nearest neighbour: the same set of classes, every pixel labelled.
  const Image mask = decode_image(root / "masks" / "val" / "000000.png");
  std::set<int> file_labels;
  for (std::size_t i = 0; i < mask.pixels.size(); i += 3) file_labels.insert(mask.pixels[i]);
  std::set<int> batch_labels;
  const auto first = batch.targets[0].flatten();
  for (std::int64_t i = 0; i < first.numel(); ++i) batch_labels.insert(static_cast<int>(first[i].item<std::int64_t>()));
  EXPECT_EQ(batch_labels, file_labels);
}

TEST(SegmentationDataModule, TrainCropsPadWithIgnore) {
  autotimm::testing::TempDir dir;
  // Crops of 64 from 48-pixel images scaled 0.5–1: always padded, and the padding is ignored.
  SegmentationDataModule data({.data_dir = shapes(dir), .class_names = kNames, .image_size = 64,
                               .transforms = boost::json::parse(R"([
                                   {"name": "random_resize", "size": 48, "scale": [0.5, 1.0]},
                                   {"name": "random_crop", "size": 64, "pad_if_needed": true}])").as_array(),
                               .batch_size = 6, .num_workers = 2});
  const auto batches = drain(data.train_loader());
  ASSERT_EQ(batches.size(), 1u);
  for (std::int64_t i = 0; i < 6; ++i) {
    const auto ignored = (batches[0].targets[i] == 255).sum().item<std::int64_t>();
    EXPECT_GE(ignored, 64 * 64 - 48 * 48) << i;
  }
}

TEST(SegmentationDataModule, LayoutsAndMessages) {
  autotimm::testing::TempDir dir;
  fs::create_directories(dir.path() / "empty");
  auto message = error_text([&] { SegmentationDataModule({.data_dir = dir.path() / "empty"}).setup(); });
  EXPECT_NE(message.find("cannot tell the segmentation dataset layout"), std::string::npos) << message;
  message = error_text([&] { SegmentationDataModule({.format = "ade"}); });
  EXPECT_NE(message.find("expected auto, png, voc, cityscapes, coco, csv"), std::string::npos) << message;
  message = error_text([&] { SegmentationDataModule({.train_transforms = "ligth"}); });
  EXPECT_NE(message.find("did you mean 'light'"), std::string::npos) << message;
  EXPECT_THROW(SegmentationDataModule({.ignore_index = 300}), ConfigError);
  Config config(boost::json::parse(R"({"data_dir": "x", "class_mapping": {"7": 1, "255": 255}, "ignore_index": 255})")
                    .as_object(),
                "data");
  const auto options = SegmentationDataOptions::from(config);
  config.expect_all_used();
  EXPECT_EQ(options.class_mapping.at(7), 1);
  EXPECT_EQ(options.class_mapping.at(255), 255);
  Config bad(boost::json::parse(R"({"class_mapping": {"seven": 1}})").as_object(), "data");
  EXPECT_NE(error_text([&] { SegmentationDataOptions::from(bad); }).find("key 'seven' is not an integer value"),
            std::string::npos);
}

}  // namespace
}  // namespace autotimm
