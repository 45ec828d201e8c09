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
            "the label map of 'photo.jpg' is 10x10 but the image is 160x120; a mask must have its image's size (do "
            "the annotations give the image's width and height?)");
}

/// labelled() with its label-3 square as an instance: the object's mask and tight box.
Sample with_instance(int width, int height) {
  Sample sample = labelled(width, height);
  SampleObject object{.label = 3};
  object.mask = Image(width, height, 1);
  int x1 = width, y1 = height, x2 = 0, y2 = 0;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      if (sample.mask.at(x, y, 0) != 3) continue;
      object.mask.at(x, y, 0) = 1;
      x1 = std::min(x1, x), y1 = std::min(y1, y), x2 = std::max(x2, x + 1), y2 = std::max(y2, y + 1);
    }
  }
  object.box = {static_cast<double>(x1), static_cast<double>(y1), static_cast<double>(x2), static_cast<double>(y2)};
  object.area = static_cast<double>((x2 - x1) * (y2 - y1));
  sample.objects.push_back(object);
  sample.mask = {};
  return sample;
}

/// The object's mask lies on the image's label-3 pixels and inside its box, and covers them up to its edge (where a
/// pixel centre falls exactly on a source pixel's edge, the image's nearest filter and the mask's may round apart).
void expect_instance_aligned(const Sample& sample, const std::string& what) {
  ASSERT_EQ(sample.objects.size(), 1u) << what;
  const Image& mask = sample.objects[0].mask;
  ASSERT_EQ(mask.width, sample.image.width) << what;
  ASSERT_EQ(mask.height, sample.image.height) << what;
  const auto& box = sample.objects[0].box;
  int not_object = 0, missed = 0, outside = 0;
  for (int y = 0; y < mask.height; ++y) {
    for (int x = 0; x < mask.width; ++x) {
      const bool on = mask.at(x, y, 0) != 0;
      not_object += on && sample.image.at(x, y, 0) != 120;
      const auto on_at = [&](int u, int v) {
        return u >= 0 && v >= 0 && u < mask.width && v < mask.height && mask.at(u, v, 0) != 0;
      };
      const bool next_to_mask = on_at(x - 1, y) || on_at(x + 1, y) || on_at(x, y - 1) || on_at(x, y + 1);
      missed += !on && !next_to_mask && sample.image.at(x, y, 0) == 120;
      outside += on && (x + 1 < box[0] || x > box[2] || y + 1 < box[1] || y > box[3]);
    }
  }
  EXPECT_EQ(not_object, 0) << what;
  EXPECT_EQ(missed, 0) << what;
  EXPECT_EQ(outside, 0) << what;
}

TEST(MaskTransforms, InstanceMasksMoveWithTheirObjects) {
  for (std::uint64_t seed = 0; seed < 25; ++seed) {
    const auto out = run(R"([{"name": "random_resize", "size": 24, "scale": [0.8, 2.0], "interpolation": "nearest"},
                             {"name": "center_crop", "size": 24},
                             {"name": "horizontal_flip"}])",
                         with_instance(48, 36), seed);
    if (out.objects.empty()) continue;  // cropped away, mask and all
    expect_instance_aligned(out, "seed " + std::to_string(seed));
  }
  // Letterbox padding is never the object: masks are padded with 0, not with the label maps' ignore index.
  const auto boxed = run(R"([{"name": "letterbox", "size": 48, "interpolation": "nearest"}])", with_instance(48, 24));
  expect_instance_aligned(boxed, "letterbox");
  EXPECT_EQ(boxed.objects[0].mask.at(5, 0, 0), 0);
  // A crop that leaves the object out drops its mask with it.
  Sample away = with_instance(48, 36);
  map_targets(away, 1.0, -40.0, 1.0, 0.0, 8, 8, 1.0);  // the 8x8 window at x 40: the object is left of it
  EXPECT_TRUE(away.objects.empty());
}

TEST(MaskTransforms, TheJpegFastPathMovesInstanceMasksAsThePlainPathDoes) {
  autotimm::testing::TempDir dir;
  const Sample source = with_instance(160, 120);
  const auto path = dir / "photo.jpg";
  write_image(path, source.image, 95);
  std::vector<std::uint8_t> bytes;
  read_image_file(path, bytes);
  const auto transform = make_transforms(
      boost::json::parse(R"([{"name": "random_resized_crop", "size": 48, "scale": [0.5, 1.0]},
                             {"name": "horizontal_flip"}])").as_array(),
      "test");
  int compared = 0;
  for (std::uint64_t seed = 0; seed < 6; ++seed) {
    SampleRng fast_rng(seed, 0, 0), plain_rng(seed, 0, 0);
    Sample targets;
    targets.objects = source.objects;
    const Sample fast = decode_and_apply(bytes, "photo.jpg", *transform, fast_rng, {}, targets);
    Sample plain = source;
    plain.image = decode_image(path);
    transform->apply(plain, plain_rng);
    ASSERT_EQ(fast.objects.size(), plain.objects.size()) << seed;
    if (fast.objects.empty()) continue;
    EXPECT_EQ(fast.objects[0].mask.pixels, plain.objects[0].mask.pixels) << seed;
    ++compared;
  }
  EXPECT_GT(compared, 0);
  Sample wrong;
  wrong.objects.push_back({.mask = Image(10, 10, 1)});
  SampleRng rng(0, 0, 0);
  EXPECT_NE(error_text([&] { decode_and_apply(bytes, "photo.jpg", *transform, rng, {}, wrong); })
                .find("the mask of object 1 of 'photo.jpg' is 10x10 but the image is 160x120"),
            std::string::npos);
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
