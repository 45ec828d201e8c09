// The loader and the data module: batch layout and normalization, identical batches for any worker count,
// undecodable files skipped and counted (or failing under strict_data), balanced sampling, sharding, the seeded
// val split, and multi-label targets.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/image_data_module.hpp"
#include "autotimm/data/loader.hpp"
#include "autotimm/error.hpp"
#include "data_fixtures.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::vector<Batch> drain(const DataLoader& loader, std::uint64_t epoch = 0) {
  std::vector<Batch> batches;
  auto pass = loader.epoch(epoch);
  while (auto batch = pass.next()) batches.push_back(std::move(*batch));
  return batches;
}

TransformPtr crop_to(int size) {
  return make_transforms(boost::json::parse(R"([{"name": "random_resized_crop", "size": )" + std::to_string(size) +
                                            R"(, "scale": [0.3, 1.0]}, {"name": "horizontal_flip"}])")
                             .as_array());
}

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_class_folders(dir / "train", {"a", "b", "c"}, {5, 3, 2});
    dataset = std::make_shared<ImageDataset>(read_image_folder(dir / "train"));
  }
  TempDir dir;
  std::shared_ptr<ImageDataset> dataset;
};

TEST_F(LoaderTest, BatchesAreNormalizedContiguousTensors) {
  DataLoader loader(dataset, make_transforms(boost::json::parse(R"([{"name": "resize", "size": [10, 12]}])").as_array()),
                    {.batch_size = 4, .num_workers = 2, .mean = {0.5, 0.25, 0.0}, .std = {0.5, 0.25, 1.0}});
  EXPECT_EQ(loader.num_batches(), 3);
  const auto batches = drain(loader);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].images.sizes(), torch::IntArrayRef({4, 3, 10, 12}));
  EXPECT_EQ(batches[2].images.size(0), 2);
  EXPECT_TRUE(batches[0].images.is_contiguous());
  EXPECT_EQ(batches[0].targets.dtype(), torch::kInt64);
  // Item 5 is class b (red 40), the image with index 0 (green 0): (40/255 - 0.5)/0.5 and (0 - 0.25)/0.25.
  const auto& b = batches[1];
  EXPECT_EQ(b.indices[1], 5u);
  EXPECT_EQ(b.targets[1].item<std::int64_t>(), 1);
  EXPECT_FLOAT_EQ(b.images[1][0][3][4].item<float>(), (40.0f / 255.0f - 0.5f) / 0.5f);
  EXPECT_FLOAT_EQ(b.images[1][1][0][0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(b.images[1][2][0][11].item<float>(), 1.0f);  // the blue gradient ends at 255
}

TEST_F(LoaderTest, SameBatchesForAnyWorkerCount) {
  std::vector<std::vector<Batch>> runs;
  for (const int workers : {0, 1, 3}) {
    DataLoader loader(dataset, crop_to(8), {.batch_size = 3, .shuffle = true, .num_workers = workers, .seed = 11});
    runs.push_back(drain(loader, 2));
  }
  for (std::size_t r = 1; r < runs.size(); ++r) {
    ASSERT_EQ(runs[r].size(), runs[0].size());
    for (std::size_t i = 0; i < runs[0].size(); ++i) {
      EXPECT_TRUE(torch::equal(runs[r][i].images, runs[0][i].images)) << "run " << r << " batch " << i;
      EXPECT_TRUE(torch::equal(runs[r][i].targets, runs[0][i].targets));
    }
  }
  DataLoader loader(dataset, crop_to(8), {.batch_size = 3, .shuffle = true, .num_workers = 2, .seed = 11});
  EXPECT_NE(loader.epoch_order(0), loader.epoch_order(1)) << "each epoch reshuffles";
  const auto other_epoch = drain(loader, 3);
  EXPECT_FALSE(torch::equal(other_epoch[0].images, runs[0][0].images));
}

TEST_F(LoaderTest, CorruptFilesAreSkippedAndCounted) {
  testing::write_text(dir / "train" / "b" / "b_9.png", "this is not a png");
  auto with_corrupt = std::make_shared<ImageDataset>(read_image_folder(dir / "train"));
  DataLoader loader(with_corrupt, crop_to(8), {.batch_size = 4, .num_workers = 2});
  auto pass = loader.epoch(0);
  std::int64_t seen = 0;
  while (auto batch = pass.next()) seen += batch->size();
  EXPECT_EQ(seen, 10);
  const auto skipped = pass.skipped();
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].what.find("b_9.png"), std::string::npos);

  DataLoader strict(with_corrupt, crop_to(8), {.batch_size = 4, .num_workers = 2, .strict_data = true});
  const auto message = testing::error_text([&] { drain(strict); });
  EXPECT_NE(message.find("b_9.png"), std::string::npos) << message;
  EXPECT_NE(message.find("strict_data"), std::string::npos) << message;
}

// JPEG files take the partial-decode path (decode_and_apply); the batches must be what decoding everything,
// transforming and normalizing gives, and a truncated JPEG is skipped like any broken file.
TEST(LoaderJpegTest, PartialDecodeGivesTheFullDecodeBatches) {
  TempDir dir;
  for (int i = 0; i < 6; ++i) {
    Image image(90 + 7 * i, 70 + 5 * i, 3);
    for (int y = 0; y < image.height; ++y) {
      for (int x = 0; x < image.width; ++x) {
        image.at(x, y, 0) = static_cast<std::uint8_t>((x * 7 + y * 3 + i * 40) % 256);
        image.at(x, y, 1) = static_cast<std::uint8_t>(((x / 5 + y / 4) % 2) * 200 + i);
        image.at(x, y, 2) = static_cast<std::uint8_t>((x * y) % 251);
      }
    }
    const fs::path folder = dir / "train" / (i % 2 ? "odd" : "even");
    fs::create_directories(folder);
    write_image(folder / (std::to_string(i) + ".jpg"), image, 90);
  }
  auto dataset = std::make_shared<ImageDataset>(read_image_folder(dir / "train"));
  const auto transform = make_transforms(boost::json::parse(R"([
      {"name": "random_resized_crop", "size": 24, "scale": [0.2, 1.0], "interpolation": "bicubic"},
      {"name": "horizontal_flip"}, {"name": "color_jitter", "brightness": 0.4, "saturation": 0.4}])").as_array());
  const LoaderOptions options{.batch_size = 4, .shuffle = true, .num_workers = 2, .seed = 5, .mean = {0.5, 0.4, 0.3},
                              .std = {0.2, 0.25, 0.3}};
  DataLoader loader(dataset, transform, options);
  const auto order = loader.epoch_order(1);
  std::size_t position = 0;
  for (const auto& batch : drain(loader, 1)) {
    for (std::int64_t row = 0; row < batch.size(); ++row, ++position) {
      Sample sample{decode_image(dataset->items[order[position]].path)};
      SampleRng rng(5, 1, position);
      transform->apply(sample, rng);
      auto expected = torch::empty({3, 24, 24});
      for (int c = 0; c < 3; ++c) {
        for (int y = 0; y < 24; ++y) {
          for (int x = 0; x < 24; ++x) {
            const float value = static_cast<float>(sample.image.at(x, y, c)) / 255.0f;
            expected[c][y][x] = (value - static_cast<float>(options.mean[c])) / static_cast<float>(options.std[c]);
          }
        }
      }
      EXPECT_TRUE(torch::equal(batch.images[row], expected)) << "sample " << position;
    }
  }
  EXPECT_EQ(position, 6u);

  std::ifstream whole(dir / "train" / "odd" / "1.jpg", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
  testing::write_text(dir / "train" / "odd" / "1.jpg", bytes.substr(0, bytes.size() / 2));
  auto pass = loader.epoch(0);
  std::int64_t seen = 0;
  while (auto batch = pass.next()) seen += batch->size();
  EXPECT_EQ(seen, 5);
  ASSERT_EQ(pass.skipped().size(), 1u);
  EXPECT_NE(pass.skipped()[0].what.find("1.jpg"), std::string::npos);
}

TEST_F(LoaderTest, MismatchedSizesAreAClearError) {
  DataLoader loader(dataset, make_transforms(boost::json::parse(R"([{"name": "resize", "size": 8}])").as_array()),
                    {.batch_size = 10, .num_workers = 0});
  // Every image is 12 × 10, so this works; a ragged dataset would not.
  EXPECT_NO_THROW(drain(loader));
  write_image(dir / "train" / "c" / "wide.png", testing::solid_image(30, 10, 1));
  DataLoader ragged(std::make_shared<ImageDataset>(read_image_folder(dir / "train")),
                    make_transforms(boost::json::parse(R"([{"name": "resize", "size": 8}])").as_array()),
                    {.batch_size = 11, .num_workers = 1});
  const auto message = testing::error_text([&] { drain(ragged); });
  EXPECT_NE(message.find("fixed-size"), std::string::npos) << message;
}

TEST_F(LoaderTest, BalancedSamplingEvensOutTheClasses) {
  DataLoader loader(dataset, crop_to(4), {.batch_size = 8, .num_workers = 0, .seed = 1, .balanced = true,
                                          .num_samples = 3000});
  std::map<std::int64_t, int> counts;
  for (const auto index : loader.epoch_order(0)) ++counts[dataset->items[index].label];
  for (const auto& [label, count] : counts) EXPECT_NEAR(count, 1000, 120) << "class " << label;
  EXPECT_EQ(loader.num_batches(), 375);
}

TEST_F(LoaderTest, ShardsSplitTheEpochWithoutOverlapAndPadEvenly) {
  std::multiset<std::size_t> all;
  for (int shard = 0; shard < 3; ++shard) {
    DataLoader loader(dataset, crop_to(4), {.batch_size = 2, .shuffle = true, .seed = 4, .shard_index = shard,
                                            .num_shards = 3});
    const auto order = loader.epoch_order(0);
    EXPECT_EQ(order.size(), 4u);  // 10 samples padded to 12
    EXPECT_EQ(loader.num_samples(), 4);
    all.insert(order.begin(), order.end());
  }
  EXPECT_EQ(all.size(), 12u);
  EXPECT_EQ(std::set<std::size_t>(all.begin(), all.end()).size(), 10u) << "every sample appears";
}

TEST_F(LoaderTest, DataModuleSplitsTrainWhenThereIsNoVal) {
  ImageDataModule data({.data_dir = dir.path(), .image_size = 16, .batch_size = 4, .num_workers = 1, .val_split = 0.3});
  EXPECT_EQ(data.class_names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(data.train_dataset()->size(), 7u);
  EXPECT_EQ(data.val_dataset()->size(), 3u);
  std::set<fs::path> train_files, val_files;
  for (const auto& item : data.train_dataset()->items) train_files.insert(item.path);
  for (const auto& item : data.val_dataset()->items) val_files.insert(item.path);
  for (const auto& path : val_files) EXPECT_FALSE(train_files.count(path)) << path;
  const auto val = drain(data.val_loader());
  EXPECT_EQ(val[0].images.sizes(), torch::IntArrayRef({3, 3, 16, 16}));
  EXPECT_EQ(drain(data.train_loader())[0].images.size(3), 16);
  EXPECT_FALSE(data.test_loader().has_value());

  ImageDataModule same({.data_dir = dir.path(), .image_size = 16, .val_split = 0.3});
  EXPECT_EQ(same.val_dataset()->items[0].path, data.val_dataset()->items[0].path) << "the split is seeded";
  EXPECT_THROW(ImageDataModule({.data_dir = dir / "missing"}).setup(), ConfigError);
  EXPECT_THROW(ImageDataModule({.data_dir = dir.path(), .train_transforms = "heavy"}), ConfigError);
}

TEST_F(LoaderTest, DataModuleTakesTheBackbonesInputConfig) {
  testing::write_class_folders(dir / "val", {"a", "b", "c"}, {1, 1, 1}, 40, 30);
  ImageDataModule data({.data_dir = dir.path(), .batch_size = 8, .num_workers = 0});
  DataConfig config;
  config.input_size = {3, 24, 24};
  config.mean = {0.0, 0.0, 0.0};
  config.std = {1.0, 1.0, 1.0};
  data.set_data_config(config);
  const auto val = drain(data.val_loader());
  ASSERT_EQ(val.size(), 1u);
  EXPECT_EQ(val[0].images.sizes(), torch::IntArrayRef({3, 3, 24, 24}));
  EXPECT_NEAR(val[0].images[1][0].mean().item<float>(), 40.0f / 255.0f, 1e-6);
}

TEST(MultiLabelDataTest, TargetsAreFloatRows) {
  TempDir dir;
  write_image(dir / "a.png", testing::solid_image(8, 8, 1));
  write_image(dir / "b.png", testing::solid_image(8, 8, 2));
  testing::write_text(dir / "train.csv", "image,red,green\na.png,1,0\nb.png,1,1\n");
  MultiLabelImageDataModule data({.train_csv = dir / "train.csv", .image_size = 8, .batch_size = 2, .num_workers = 0,
                                  .val_split = 0.0});
  EXPECT_TRUE(data.multi_label());
  EXPECT_EQ(data.num_classes(), 2);
  DataLoader loader(data.train_dataset(), eval_transform(data.data_config()), {.batch_size = 2, .num_workers = 0});
  const auto batches = drain(loader);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].targets.dtype(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(batches[0].targets, torch::tensor({{1.0f, 0.0f}, {1.0f, 1.0f}})));
}

TEST(IdxDataModuleTest, FindsMnistStyleFiles) {
  TempDir dir;
  testing::write_idx_gz(dir / "train-images-idx3-ubyte.gz", {4, 2, 2}, std::vector<std::uint8_t>(16, 200));
  testing::write_idx_gz(dir / "train-labels-idx1-ubyte.gz", {4}, {0, 1, 2, 3});
  testing::write_idx_gz(dir / "t10k-images-idx3-ubyte.gz", {1, 2, 2}, std::vector<std::uint8_t>(4, 100));
  testing::write_idx_gz(dir / "t10k-labels-idx1-ubyte.gz", {1}, {5});
  ImageDataModule data({.data_dir = dir.path(), .image_size = 4, .batch_size = 4, .num_workers = 0, .val_split = 0.25});
  EXPECT_EQ(data.num_classes(), 10);
  EXPECT_EQ(data.train_dataset()->size(), 3u);
  auto test = data.test_loader();
  ASSERT_TRUE(test.has_value());
  const auto batches = drain(*test);
  EXPECT_EQ(batches[0].targets[0].item<std::int64_t>(), 5);
  EXPECT_EQ(batches[0].images.sizes(), torch::IntArrayRef({1, 3, 4, 4}));
}

}  // namespace
}  // namespace autotimm
