// The detection data module on the generated shapes: the batch schema dense tasks share (boxes, labels, crowd flags,
// areas, image ids, original sizes), boxes that map back to the annotation file exactly, identical batches for any
// worker count, layout detection and its messages.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "autotimm/data/coco_detection.hpp"
#include "autotimm/data/detection_data_module.hpp"
#include "autotimm/data/synthetic_shapes.hpp"
#include "autotimm/error.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

using autotimm::testing::error_text;

namespace fs = std::filesystem;

fs::path shapes(const autotimm::testing::TempDir& dir, int size = 64) {
  write_shapes_dataset({.out = dir.path() / "shapes", .train_images = 6, .val_images = 3, .image_size = size,
                        .min_object_size = 10, .max_object_size = 24, .seed = 3, .task = ShapesTask::detection});
  return dir.path() / "shapes";
}

std::vector<Batch> drain(const DataLoader& loader) {
  std::vector<Batch> batches;
  auto pass = loader.epoch(0);
  while (auto batch = pass.next()) batches.push_back(std::move(*batch));
  return batches;
}

TEST(DetectionDataModule, BatchesCarryTheDenseSchema) {
  autotimm::testing::TempDir dir;
  DetectionDataModule data({.data_dir = shapes(dir), .image_size = 96, .batch_size = 4, .num_workers = 0});
  EXPECT_EQ(data.class_names(), (std::vector<std::string>{"rectangle", "ellipse", "triangle"}));
  const auto batches = drain(data.train_loader());
  ASSERT_EQ(batches.size(), 2u);
  const Batch& batch = batches[0];
  EXPECT_EQ(batch.images.sizes(), (std::vector<std::int64_t>{4, 3, 96, 96}));
  EXPECT_FALSE(batch.targets.defined());
  ASSERT_EQ(batch.boxes.size(), 4u);
  ASSERT_EQ(batch.labels.size(), 4u);
  ASSERT_EQ(batch.iscrowd.size(), 4u);
  ASSERT_EQ(batch.areas.size(), 4u);
  EXPECT_EQ(batch.image_ids.sizes(), (std::vector<std::int64_t>{4}));
  EXPECT_TRUE(batch.orig_sizes.equal(torch::full({4, 2}, 64, torch::kInt64)));
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(batch.boxes[i].size(1), 4);
    EXPECT_EQ(batch.boxes[i].size(0), batch.labels[i].size(0));
    EXPECT_TRUE((batch.labels[i] >= 0).all().item<bool>() && (batch.labels[i] < 3).all().item<bool>());
    EXPECT_TRUE((batch.boxes[i] >= 0).all().item<bool>() && (batch.boxes[i] <= 96).all().item<bool>());
  }
}

TEST(DetectionDataModule, EvaluationBoxesMapBackToTheAnnotations) {
  autotimm::testing::TempDir dir;
  const auto root = shapes(dir);
  DetectionDataModule data({.data_dir = root, .image_size = 80, .batch_size = 2, .num_workers = 0});
  const auto truth = read_coco_detection(root / "annotations" / "instances_val.json", root / "images" / "val");
  std::map<std::int64_t, const DetectionRecord*> by_id;
  for (const auto& record : truth.records) by_id[record.image_id] = &record;
  std::size_t images = 0;
  for (const Batch& batch : drain(*data.validation_loader())) {
    for (std::int64_t i = 0; i < batch.size(); ++i) {
      const auto& record = *by_id.at(batch.image_ids[i].item<std::int64_t>());
      const auto map = batch.input_maps[i];
      EXPECT_DOUBLE_EQ(map[0].item<double>(), 80.0 / 64.0);  // letterbox of a square: scaled, no padding
      ASSERT_EQ(batch.boxes[i].size(0), static_cast<std::int64_t>(record.annotations.size()));
      for (std::int64_t k = 0; k < batch.boxes[i].size(0); ++k) {
        const auto& expected = record.annotations[static_cast<std::size_t>(k)];
        for (int c = 0; c < 4; ++c) {
          const double scale = map[c % 2 == 0 ? 0 : 2].item<double>(), offset = map[c % 2 == 0 ? 1 : 3].item<double>();
          EXPECT_NEAR((batch.boxes[i][k][c].item<double>() - offset) / scale, expected.box[c], 1e-4);
        }
        EXPECT_EQ(batch.labels[i][k].item<std::int64_t>(), expected.label);
        EXPECT_DOUBLE_EQ(batch.areas[i][k].item<double>(), expected.area);
      }
      ++images;
    }
  }
  EXPECT_EQ(images, 3u);
  EXPECT_FALSE(data.test_loader().has_value());
}

TEST(DetectionDataModule, SameBatchesForAnyWorkerCount) {
  autotimm::testing::TempDir dir;
  const auto root = shapes(dir);
  DetectionDataModule serial({.data_dir = root, .image_size = 64, .train_transforms = "strong", .batch_size = 3,
                              .num_workers = 0});
  DetectionDataModule parallel({.data_dir = root, .image_size = 64, .train_transforms = "strong", .batch_size = 3,
                                .num_workers = 2});
  const auto a = drain(serial.train_loader()), b = drain(parallel.train_loader());
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(a[i].images.equal(b[i].images));
    for (std::size_t k = 0; k < a[i].boxes.size(); ++k) EXPECT_TRUE(a[i].boxes[k].equal(b[i].boxes[k]));
  }
}

TEST(DetectionDataModule, LayoutsAndMessages) {
  autotimm::testing::TempDir dir;
  fs::create_directories(dir.path() / "empty");
  auto message = error_text([&] { DetectionDataModule({.data_dir = dir.path() / "empty"}).setup(); });
  EXPECT_NE(message.find("cannot tell the detection dataset layout"), std::string::npos) << message;
  message = error_text([&] { DetectionDataModule({.format = "voc"}); });
  EXPECT_NE(message.find("expected auto, coco, csv, yolo"), std::string::npos) << message;
  message = error_text([&] { DetectionDataModule({.train_transforms = "strnog"}); });
  EXPECT_NE(message.find("did you mean 'strong'"), std::string::npos) << message;
  EXPECT_THROW(DetectionDataModule({.image_size = 8}), ConfigError);
  // The data config tells predict to letterbox, with the normalisation the detector set.
  DetectionDataModule data({.data_dir = dir.path()});
  data.set_normalization({0.5, 0.5, 0.5}, {0.25, 0.25, 0.25});
  EXPECT_EQ(data.data_config().crop_mode, "letterbox");
  EXPECT_EQ(data.data_config().mean[1], 0.5);
}

}  // namespace
}  // namespace autotimm
