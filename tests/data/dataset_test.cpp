// The dataset readers on small generated folders, CSVs and IDX files, and their errors.
#include <gtest/gtest.h>

#include "autotimm/data/dataset.hpp"
#include "autotimm/data/decode.hpp"
#include "autotimm/error.hpp"
#include "data_fixtures.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::error_text;
using testing::TempDir;
using testing::write_text;

TEST(DecodeTest, EveryFormatBecomesRgb) {
  TempDir dir;
  const Image image = testing::solid_image(6, 4, 200, 3);
  for (const char* name : {"a.png", "a.bmp", "a.tiff", "a.webp"}) {
    write_image(dir / name, image);
    const Image decoded = decode_image(dir / name);
    ASSERT_EQ(decoded.channels, 3) << name;
    EXPECT_EQ(decoded.width, 6) << name;
    if (std::string(name) != "a.webp") {
      EXPECT_EQ(decoded.pixels, image.pixels) << name << " is lossless";
    }
  }
  write_image(dir / "a.jpg", image, 100);
  const Image jpeg = decode_image(dir / "a.jpg");
  EXPECT_NEAR(jpeg.at(2, 2, 0), 200, 6);
  Image gray(3, 2, 1);
  gray.pixels = {0, 50, 100, 150, 200, 250};
  write_image(dir / "gray.png", gray);
  const Image rgb = decode_image(dir / "gray.png");
  ASSERT_EQ(rgb.channels, 3);
  EXPECT_EQ(rgb.at(1, 0, 0), 50);
  EXPECT_EQ(rgb.at(1, 0, 2), 50);
}

TEST(DecodeTest, BrokenFilesFailWithThePath) {
  TempDir dir;
  write_text(dir / "broken.jpg", "\xFF\xD8\xFF\xE0 not really a jpeg");
  write_text(dir / "empty.png", "");
  const auto broken = error_text([&] { decode_image(dir / "broken.jpg"); });
  EXPECT_NE(broken.find("broken.jpg"), std::string::npos) << broken;
  EXPECT_THROW(decode_image(dir / "broken.jpg"), FormatError);
  EXPECT_THROW(decode_image(dir / "empty.png"), FormatError);
  EXPECT_THROW(decode_image(dir / "missing.png"), IoError);
  write_image(dir / "big.png", testing::solid_image(40, 40, 1));
  EXPECT_THROW(decode_image(dir / "big.png", {.max_pixels = 100}), FormatError);
  EXPECT_THROW(decode_image(dir / "big.png", {.max_file_bytes = 10}), FormatError);
}

TEST(ImageFolderTest, ClassesAreSortedFoldersAndFilesAreListedRecursively) {
  TempDir dir;
  testing::write_class_folders(dir / "train", {"dog", "cat"}, {2, 3});
  fs::create_directories(dir / "train" / "cat" / "more");
  write_image(dir / "train" / "cat" / "more" / "x.JPG", testing::solid_image(4, 4, 1));
  write_text(dir / "train" / "cat" / "notes.txt", "not an image");
  write_text(dir / "train" / "cat" / ".hidden.png", "hidden");
  fs::create_directories(dir / "train" / ".cache");
  const ImageDataset data = read_image_folder(dir / "train");
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(data.size(), 6u);
  EXPECT_EQ(data.class_counts(), (std::vector<std::int64_t>{4, 2}));
  EXPECT_EQ(data.items.front().label, 0);
  EXPECT_EQ(data.items.back().label, 1);
  EXPECT_EQ(data.load(0).width, 12);

  testing::write_class_folders(dir / "val", {"cat"}, {1});
  const ImageDataset val = read_image_folder(dir / "val", data.class_names);
  EXPECT_EQ(val.class_names, data.class_names) << "val keeps train's indices";
  testing::write_class_folders(dir / "test", {"cow"}, {1});
  const auto foreign = error_text([&] { read_image_folder(dir / "test", data.class_names); });
  EXPECT_NE(foreign.find("cow"), std::string::npos) << foreign;
}

TEST(ImageFolderTest, MissingOrEmptyFoldersSaySo) {
  TempDir dir;
  const auto missing = error_text([&] { read_image_folder(dir / "nope"); });
  EXPECT_NE(missing.find("does not exist"), std::string::npos) << missing;
  EXPECT_THROW(read_image_folder(dir / "nope"), NotFoundError);
  fs::create_directories(dir / "flat");
  write_image(dir / "flat" / "a.png", testing::solid_image(2, 2, 1));
  EXPECT_NE(error_text([&] { read_image_folder(dir / "flat"); }).find("no class folders"), std::string::npos);
  fs::create_directories(dir / "hollow" / "a");
  EXPECT_NE(error_text([&] { read_image_folder(dir / "hollow"); }).find("no images"), std::string::npos);
}

TEST(CsvDatasetTest, StringLabelsMapInSortedOrderAndPathsAreRelativeToTheCsv) {
  TempDir dir;
  fs::create_directories(dir / "imgs");
  write_image(dir / "imgs" / "a.png", testing::solid_image(3, 3, 1));
  write_image(dir / "imgs" / "b.png", testing::solid_image(3, 3, 2));
  write_text(dir / "train.csv", "label,image,extra\nzebra,imgs/a.png,1\r\n\"ant\",\"imgs/b.png\",\"x,y\"\n");
  const ImageDataset data = read_image_csv(dir / "train.csv");
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"ant", "zebra"}));
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data.items[0].label, 1);
  EXPECT_EQ(data.items[0].path, dir / "imgs" / "a.png");
  EXPECT_EQ(data.load(1).at(0, 0, 0), 2);

  write_text(dir / "numeric.csv", "image,label\nimgs/a.png,2\nimgs/b.png,0\n");
  const ImageDataset numeric = read_image_csv(dir / "numeric.csv");
  EXPECT_EQ(numeric.class_names, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(numeric.items[0].label, 2);

  write_text(dir / "val.csv", "image,label\nimgs/a.png,lion\n");
  EXPECT_NE(error_text([&] { read_image_csv(dir / "val.csv", {}, data.class_names); }).find("line 2"), std::string::npos);
  write_text(dir / "ragged.csv", "image,label\nimgs/a.png\n");
  EXPECT_NE(error_text([&] { read_image_csv(dir / "ragged.csv"); }).find("line 2"), std::string::npos);
  write_text(dir / "nolabel.csv", "image,class\nimgs/a.png,x\n");
  EXPECT_NE(error_text([&] { read_image_csv(dir / "nolabel.csv"); }).find("'label'"), std::string::npos);
  write_text(dir / "quote.csv", "image,label\n\"imgs/a.png,x\n");
  EXPECT_THROW(read_image_csv(dir / "quote.csv"), FormatError);
}

TEST(CsvDatasetTest, MultiLabelColumnsBecomeClassesAndTargets) {
  TempDir dir;
  write_text(dir / "tags.csv", "image,cat,dog,bird\na.png,1,0,1\nb.png,0,0,0\n");
  const ImageDataset data = read_multi_label_csv(dir / "tags.csv");
  EXPECT_TRUE(data.multi_label);
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"cat", "dog", "bird"}));
  EXPECT_EQ(data.items[0].labels, (std::vector<float>{1, 0, 1}));
  write_text(dir / "bad.csv", "image,cat\na.png,yes\n");
  const auto bad = error_text([&] { read_multi_label_csv(dir / "bad.csv"); });
  EXPECT_NE(bad.find("column 'cat'"), std::string::npos) << bad;
}

TEST(IdxDatasetTest, ReadsGzipImagesAndLabels) {
  TempDir dir;
  std::vector<std::uint8_t> pixels(3 * 2 * 4);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i * 10);
  testing::write_idx_gz(dir / "images.gz", {3, 2, 4}, pixels);
  testing::write_idx_gz(dir / "labels.gz", {3}, {7, 0, 9});
  const ImageDataset data = read_idx(dir / "images.gz", dir / "labels.gz");
  ASSERT_EQ(data.size(), 3u);
  EXPECT_EQ(data.items[2].label, 9);
  const Image second = data.load(1);
  EXPECT_EQ(second.width, 4);
  EXPECT_EQ(second.height, 2);
  EXPECT_EQ(second.channels, 3);
  EXPECT_EQ(second.at(0, 0, 0), 80);  // the ninth byte
  EXPECT_EQ(second.at(0, 0, 2), 80);
  EXPECT_EQ(read_idx(dir / "images.gz", dir / "labels.gz", fashion_mnist_classes()).class_names[9], "Ankle boot");

  testing::write_idx_gz(dir / "short.gz", {3, 2, 4}, std::vector<std::uint8_t>(10));
  EXPECT_NE(error_text([&] { read_idx(dir / "short.gz", dir / "labels.gz"); }).find("truncated"), std::string::npos);
  testing::write_idx_gz(dir / "two.gz", {2}, {1, 1});
  EXPECT_NE(error_text([&] { read_idx(dir / "images.gz", dir / "two.gz"); }).find("disagree"), std::string::npos);
  EXPECT_THROW(read_idx(dir / "labels.gz", dir / "labels.gz"), FormatError);  // idx1 where idx3 belongs
  testing::write_idx_gz(dir / "big_label.gz", {3}, {7, 0, 12});
  EXPECT_THROW(read_idx(dir / "images.gz", dir / "big_label.gz"), FormatError);
}

}  // namespace
}  // namespace autotimm
