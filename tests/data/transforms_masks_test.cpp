// Label maps move with the pixels: exact flips and crops, nearest-neighbour resizes that never invent a label,
// padding filled with the ignore index, random geometry checked against an image that carries the labels in its
// pixels, the partial-JPEG path equal to the plain one, and the messages.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/transform.hpp"
#include "autotimm/error.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

using autotimm::testing::error_text;

/// An image whose red channel is 40 × the label of each pixel, and the label map: vertical bands of labels 0, 1, 2
/// with a label-3 square.
Sample labelled(int width, int height) {
  Sample sample{Image(width, height, 3)};
  sample.mask = Image(width, height, 1);
  sample.original_width = width;
  sample.original_height = height;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      std::uint8_t label = static_cast<std::uint8_t>(3 * x / width);
      if (x > width / 3 && x < width / 2 && y > height / 4 && y < height / 2) label = 3;
      sample.mask.at(x, y, 0) = label;
      sample.image.at(x, y, 0) = static_cast<std::uint8_t>(40 * label);
    }
  }
  return sample;
}

Sample run(const std::string& json, Sample sample, std::uint64_t seed = 0) {
  const auto transform = make_transforms(boost::json::parse(json).as_array(), "test");
  SampleRng rng(seed, 0, 0);
  transform->apply(sample, rng);
  return sample;
}

/// Every labelled pixel's image pixel carries its label; padding is ignore (255) in the mask.
void expect_aligned(const Sample& sample, const std::string& what) {
  ASSERT_EQ(sample.mask.width, sample.image.width) << what;
  ASSERT_EQ(sample.mask.height, sample.image.height) << what;
  int mismatched = 0;
  for (int y = 0; y < sample.mask.height; ++y) {
    for (int x = 0; x < sample.mask.width; ++x) {
      const int label = sample.mask.at(x, y, 0);
      if (label == 255) continue;
      mismatched += sample.image.at(x, y, 0) != 40 * label;
    }
  }
  EXPECT_EQ(mismatched, 0) << what;
}

TEST(MaskTransforms, FlipsAndCropsAreExact) {
  const Sample original = labelled(30, 20);
  const auto flipped = run(R"([{"name": "horizontal_flip", "p": 1.0}])", original);
  for (int x = 0; x < 30; ++x) EXPECT_EQ(flipped.mask.at(x, 5, 0), original.mask.at(29 - x, 5, 0)) << x;
  const auto cropped = run(R"([{"name": "center_crop", "size": [10, 12]}])", original);
  for (int x = 0; x < 12; ++x) EXPECT_EQ(cropped.mask.at(x, 0, 0), original.mask.at(x + 9, 5, 0)) << x;
  expect_aligned(run(R"([{"name": "vertical_flip", "p": 1.0}])", original), "vertical flip");
}

TEST(MaskTransforms, ResizesPickLabelsNeverBlendThem) {
  const auto out = run(R"([{"name": "resize", "size": [13, 17], "interpolation": "bicubic"}])", labelled(40, 30));
  std::set<int> labels;
  for (const auto value : out.mask.pixels) labels.insert(value);
  for (const int label : labels) EXPECT_TRUE(label >= 0 && label <= 3) << label;
  // Nearest: the output pixel's centre maps back into the source pixel it copies.
  const Sample source = labelled(40, 30);
  for (int x = 0; x < 17; ++x) {
    const int sx = static_cast<int>((x + 0.5) * 40 / 17);
    EXPECT_EQ(out.mask.at(x, 6, 0), source.mask.at(sx, static_cast<int>((6 + 0.5) * 30 / 13), 0)) << x;
  }
}

TEST(MaskTransforms, PaddingIsIgnored) {
  // 40x20 letterboxed to 40x40: ten padded rows above and below.
  const auto out = run(R"([{"name": "letterbox", "size": 40, "interpolation": "nearest"}])", labelled(40, 20));
  EXPECT_EQ(out.mask.at(5, 0, 0), 255);
  EXPECT_EQ(out.mask.at(5, 39, 0), 255);
  EXPECT_NE(out.mask.at(5, 20, 0), 255);
  expect_aligned(out, "letterbox");
  Sample custom = labelled(8, 8);
  custom.mask_fill = 99;
  const auto padded = run(R"([{"name": "random_crop", "size": 12, "pad_if_needed": true}])", custom);
  int fill = 0;
  for (const auto value : padded.mask.pixels) fill += value == 99;
  EXPECT_EQ(fill, 12 * 12 - 8 * 8);
}

TEST(MaskTransforms, RandomGeometryKeepsLabelsOnTheirPixels) {
  for (std::uint64_t seed = 0; seed < 25; ++seed) {
    const auto out = run(R"([{"name": "random_resize", "size": 24, "scale": [0.5, 2.0], "interpolation": "nearest"},
                             {"name": "random_crop", "size": 24, "pad_if_needed": true},
                             {"name": "horizontal_flip"},
                             {"name": "random_resized_crop", "size": 16, "interpolation": "nearest"}])",
                         labelled(48, 36), seed);
    expect_aligned(out, "seed " + std::to_string(seed));
  }
}

TEST(MaskTransforms, TheJpegFastPathMovesMasksAsThePlainPathDoes) {
  autotimm::testing::TempDir dir;
  const Sample source = labelled(160, 120);
  const auto path = dir / "photo.jpg";
  write_image(path, source.image, 95);
  std::vector<std::uint8_t> bytes;
  read_image_file(path, bytes);
  const auto transform = make_transforms(
      boost::json::parse(R"([{"name": "random_resized_crop", "size": 32}, {"name": "horizontal_flip"}])").as_array(),
      "test");
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    SampleRng fast_rng(seed, 0, 0), plain_rng(seed, 0, 0);
    Sample targets;
    targets.mask = source.mask;
    const Sample fast = decode_and_apply(bytes, "photo.jpg", *transform, fast_rng, {}, targets);
    Sample plain = source;
    plain.image = decode_image(path);
    transform->apply(plain, plain_rng);
    EXPECT_EQ(fast.mask.pixels, plain.mask.pixels) << seed;
  }
  Sample wrong;
  wrong.mask = Image(10, 10, 1);
  SampleRng rng(0, 0, 0);
  EXPECT_EQ(error_text([&] { decode_and_apply(bytes, "photo.jpg", *transform, rng, {}, wrong); }),
            "the label map of 'photo.jpg' is 10x10 but the image is 160x120; a mask must have its image's size");
}

TEST(MaskTransforms, SegmentationPresets) {
  DataConfig config;
  config.input_size = {3, 32, 32};
  config.crop_mode = "letterbox";
  config.interpolation = Interpolation::bilinear;
  for (const auto& preset : segmentation_train_presets()) {
    Sample sample = labelled(50, 40);
    SampleRng rng(3, 0, 0);
    segmentation_train_transform(preset, config)->apply(sample, rng);
    EXPECT_EQ(sample.image.width, 32) << preset;
    EXPECT_EQ(sample.mask.width, 32) << preset;
    EXPECT_EQ(sample.mask.height, 32) << preset;
  }
  EXPECT_NE(error_text([&] { segmentation_train_transform("ligth", config); }).find("did you mean 'light'"),
            std::string::npos);
  const auto message = error_text([] { run(R"([{"name": "randaugment"}])", labelled(8, 8)); });
  EXPECT_NE(message.find("without moving boxes or masks"), std::string::npos) << message;
}

}  // namespace
}  // namespace autotimm
