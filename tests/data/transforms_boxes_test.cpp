// Boxes move with the pixels: every geometric transform against boxes worked out by hand, random crops and flips
// against the pixels they carry (a white box on black, read back), the partial-JPEG path against the plain one,
// the map back to the original image, and the policies that cannot move boxes refusing them.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/transform.hpp"
#include "autotimm/error.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

using autotimm::testing::error_text;

using Box = std::array<double, 4>;

Sample sample_with(int width, int height, std::vector<Box> boxes) {
  Sample sample{Image(width, height, 3)};
  sample.original_width = width;
  sample.original_height = height;
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    sample.objects.push_back({.box = boxes[i], .label = static_cast<std::int64_t>(i), .area = 1.0});
  }
  return sample;
}

Sample run(const std::string& json, Sample sample, std::uint64_t seed = 0) {
  const auto transform = make_transforms(boost::json::parse(json).as_array(), "test");
  SampleRng rng(seed, 0, 0);
  transform->apply(sample, rng);
  return sample;
}

void expect_box(const Box& actual, const Box& expected, double tolerance = 1e-9) {
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(actual[k], expected[k], tolerance) << "coordinate " << k;
}

TEST(BoxTransforms, LetterboxScalesKeepsAspectAndCentres) {
  // 200x100 into 64x64: scale 0.32 → 64x32, padded 16 rows above and below.
  const auto out = run(R"([{"name": "letterbox", "size": 64}])", sample_with(200, 100, {{20, 10, 60, 50}}));
  ASSERT_EQ(out.image.width, 64);
  ASSERT_EQ(out.image.height, 64);
  EXPECT_EQ(out.image.at(10, 5, 0), 114);  // the padding's default fill
  ASSERT_EQ(out.objects.size(), 1u);
  expect_box(out.objects[0].box, {6.4, 19.2, 19.2, 32.0});
  expect_box(out.geometry.to_original(out.objects[0].box), {20, 10, 60, 50});
  const auto top_left = run(R"([{"name": "letterbox", "size": 64, "position": "top_left"}])",
                            sample_with(200, 100, {{20, 10, 60, 50}}));
  expect_box(top_left.objects[0].box, {6.4, 3.2, 19.2, 16.0});
  const auto message =
      error_text([] { run(R"([{"name": "letterbox", "size": 64, "position": "left"}])", sample_with(8, 8, {})); });
  EXPECT_NE(message.find("must be \"center\" or \"top_left\", got \"left\""), std::string::npos) << message;
}

TEST(BoxTransforms, FlipsMirrorTheBoxes) {
  const auto h = run(R"([{"name": "horizontal_flip", "p": 1.0}])", sample_with(100, 50, {{10, 20, 30, 40}}));
  expect_box(h.objects[0].box, {70, 20, 90, 40});
  expect_box(h.geometry.to_original(h.objects[0].box), {10, 20, 30, 40});
  const auto v = run(R"([{"name": "vertical_flip", "p": 1.0}])", sample_with(100, 50, {{10, 20, 30, 40}}));
  expect_box(v.objects[0].box, {10, 10, 30, 30});
  const auto kept = run(R"([{"name": "horizontal_flip", "p": 0.0}])", sample_with(100, 50, {{10, 20, 30, 40}}));
  expect_box(kept.objects[0].box, {10, 20, 30, 40});
}

TEST(BoxTransforms, ResizeScalesEachAxis) {
  const auto out = run(R"([{"name": "resize", "size": [50, 200]}])", sample_with(100, 100, {{10, 20, 30, 40}}));
  expect_box(out.objects[0].box, {20, 10, 60, 20});
}

TEST(BoxTransforms, CropsClipAndDropWhatTheyCut) {
  // center_crop 50 of 100: offset 25. The first box keeps a 5-pixel corner, the second falls outside, the third
  // keeps less than a pixel.
  const auto out = run(R"([{"name": "center_crop", "size": 50}])",
                       sample_with(100, 100, {{0, 0, 30, 30}, {0, 0, 20, 20}, {0, 40, 25.5, 60}}));
  ASSERT_EQ(out.objects.size(), 1u);
  expect_box(out.objects[0].box, {0, 0, 5, 5});
  EXPECT_EQ(out.objects[0].label, 0);
  // Padding moves the boxes by the pad.
  const auto padded = run(R"([{"name": "center_crop", "size": 20}])", sample_with(10, 10, {{1, 2, 3, 4}}));
  expect_box(padded.objects[0].box, {6, 7, 8, 9});
  const auto random = run(R"([{"name": "random_crop", "size": 10, "padding": 5}])", sample_with(10, 10, {{0, 0, 10, 10}}));
  ASSERT_EQ(random.objects.size(), 1u);  // a crop of the padded image always cuts a part of the whole-image box
  EXPECT_GE(random.objects[0].box[2] - random.objects[0].box[0], 5.0);
}

/// The tight box of the white pixels of channel 0 (nullopt when none).
std::optional<Box> white_extent(const Image& image) {
  int x1 = image.width, y1 = image.height, x2 = -1, y2 = -1;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      if (image.at(x, y, 0) < 128) continue;
      x1 = std::min(x1, x), y1 = std::min(y1, y), x2 = std::max(x2, x), y2 = std::max(y2, y);
    }
  }
  if (x2 < 0) return std::nullopt;
  return Box{double(x1), double(y1), double(x2 + 1), double(y2 + 1)};
}

TEST(BoxTransforms, RandomCropsAndFlipsCarryTheBoxWithThePixels) {
  // A white rectangle on black, its box given: after any crop and flip the box must still frame the white pixels
  // (within a pixel: nearest resampling picks whole source pixels).
  int checked = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    Sample sample = sample_with(120, 90, {{30, 20, 70, 60}});
    for (int y = 20; y < 60; ++y) {
      for (int x = 30; x < 70; ++x) sample.image.at(x, y, 0) = 255;
    }
    const auto out = run(R"([{"name": "random_resized_crop", "size": [48, 64], "scale": [0.2, 1.0],
                             "interpolation": "nearest"}, {"name": "horizontal_flip"}])",
                         std::move(sample), seed);
    const auto white = white_extent(out.image);
    if (out.objects.empty()) {
      // Dropped only when the crop kept less than a pixel of it.
      if (white) {
        EXPECT_LT(std::min((*white)[2] - (*white)[0], (*white)[3] - (*white)[1]), 3.0) << seed;
      }
      continue;
    }
    ASSERT_TRUE(white) << seed;
    expect_box(out.objects[0].box, *white, 1.6);
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST(BoxTransforms, TheJpegFastPathMovesBoxesAsThePlainPathDoes) {
  autotimm::testing::TempDir dir;
  Image image(160, 120, 3);
  for (std::size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<std::uint8_t>(i * 7);
  const auto path = dir / "photo.jpg";
  write_image(path, image, 95);
  std::vector<std::uint8_t> bytes;
  read_image_file(path, bytes);
  const std::vector<SampleObject> objects = {{.box = {10, 10, 100, 80}, .label = 2}, {.box = {150, 0, 160, 5}}};
  for (const std::string json : {R"([{"name": "random_resized_crop", "size": 32}, {"name": "horizontal_flip"}])",
                                 R"([{"name": "letterbox", "size": 48}])", R"([{"name": "resize", "size": 40}])"}) {
    const auto transform = make_transforms(boost::json::parse(json).as_array(), "test");
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
      SampleRng fast_rng(seed, 0, 0), plain_rng(seed, 0, 0);
      Sample targets;
      targets.objects = objects;
      const Sample fast = decode_and_apply(bytes, "photo.jpg", *transform, fast_rng, {}, targets);
      Sample plain{decode_image(path), objects};
      plain.original_width = 160;
      plain.original_height = 120;
      transform->apply(plain, plain_rng);
      EXPECT_EQ(fast.original_width, 160);
      EXPECT_EQ(fast.original_height, 120);
      ASSERT_EQ(fast.objects.size(), plain.objects.size()) << json << " seed " << seed;
      for (std::size_t i = 0; i < fast.objects.size(); ++i) expect_box(fast.objects[i].box, plain.objects[i].box);
      EXPECT_EQ(fast.geometry.scale_x, plain.geometry.scale_x);
      EXPECT_EQ(fast.geometry.offset_y, plain.geometry.offset_y);
    }
  }
}

TEST(BoxTransforms, PoliciesThatCannotMoveBoxesRefuseThem) {
  for (const char* name : {"randaugment", "trivialaugment", "autoaugment"}) {
    const std::string json = std::string(R"([{"name": ")") + name + R"("}])";
    EXPECT_NO_THROW(run(json, sample_with(32, 32, {})));
    const auto message = error_text([&] { run(json, sample_with(32, 32, {{1, 1, 9, 9}})); });
    EXPECT_NE(message.find("without moving boxes"), std::string::npos) << message;
  }
}

TEST(BoxTransforms, DetectionPresets) {
  DataConfig config;
  config.input_size = {3, 64, 64};
  config.crop_mode = "letterbox";
  config.interpolation = Interpolation::bilinear;
  for (const auto& preset : detection_train_presets()) {
    Sample sample = sample_with(100, 50, {{10, 10, 40, 40}});
    SampleRng rng(1, 0, 0);
    detection_train_transform(preset, config)->apply(sample, rng);
    EXPECT_EQ(sample.image.width, 64) << preset;
    EXPECT_EQ(sample.image.height, 64) << preset;
  }
  Sample sample = sample_with(100, 50, {{10, 10, 40, 40}});
  SampleRng rng(1, 0, 0);
  eval_transform(config)->apply(sample, rng);
  expect_box(sample.objects[0].box, {6.4, 22.4, 25.6, 41.6});
  EXPECT_NE(error_text([&] { detection_train_transform("defualt", config); }).find("did you mean 'default'"),
            std::string::npos);
}

}  // namespace
}  // namespace autotimm
