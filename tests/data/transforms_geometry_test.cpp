// Geometry as torchvision and PIL compute it: resampling weights checked against values worked out by hand from
// PIL's filters, torchvision's size and crop rounding, the timm eval pipeline's sizes, transform configs, and the
// per-sample generator.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "autotimm/data/transform.hpp"
#include "autotimm/error.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

Image gray_row(std::initializer_list<int> values) {
  Image image(static_cast<int>(values.size()), 1, 1);
  int i = 0;
  for (const int v : values) image.pixels[i++] = static_cast<std::uint8_t>(v);
  return image;
}

/// An RGB image whose red channel is the column and green the row: crops can be read back exactly.
Image coordinates(int width, int height) {
  Image image(width, height, 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.at(x, y, 0) = static_cast<std::uint8_t>(x);
      image.at(x, y, 1) = static_cast<std::uint8_t>(y);
      image.at(x, y, 2) = 7;
    }
  }
  return image;
}

Sample run_transforms(const std::string& json, Image image, std::uint64_t seed = 0) {
  const auto transform = make_transforms(boost::json::parse(json).as_array(), "test");
  Sample sample{std::move(image)};
  SampleRng rng(seed, 0, 0);
  transform->apply(sample, rng);
  return sample;
}

TEST(ResampleTest, BilinearDownscaleUsesTheWidenedTriangle) {
  // 4 → 2: scale 2, support 2. Output 0 is centred at 1.0 and reads inputs 0..2 with triangle((x - 0.5) / 2):
  // 0.75, 0.75, 0.25 → 3/7, 3/7, 1/7: 0·3/7 + 70·3/7 + 140·1/7 = 50. Output 1 reads 1..3: 10 + 60 + 90 = 160.
  const Sample out = run_transforms(R"([{"name": "resize", "size": [1, 2], "interpolation": "bilinear"}])",
                           gray_row({0, 70, 140, 210}));
  ASSERT_EQ(out.image.width, 2);
  EXPECT_EQ(out.image.pixels[0], 50);
  EXPECT_EQ(out.image.pixels[1], 160);
}

TEST(ResampleTest, BilinearUpscaleInterpolatesBetweenCentres) {
  // 2 → 4: output centres at 0.25, 0.75, 1.25, 1.75; support 1: 100·0, 100·0.25, 100·0.75, 100·1.
  const Sample out = run_transforms(R"([{"name": "resize", "size": [1, 4], "interpolation": "bilinear"}])", gray_row({0, 100}));
  EXPECT_EQ(out.image.pixels, (std::vector<std::uint8_t>{0, 25, 75, 100}));
}

TEST(ResampleTest, BicubicOvershootIsClampedAndFlatStaysFlat) {
  // A step 0,0,255,255 → 8 wide: the cubic's negative lobe undershoots next to the edge and clamps at 0; far from
  // the edge, the flat parts stay exactly flat.
  const Sample out = run_transforms(R"([{"name": "resize", "size": [1, 8], "interpolation": "bicubic"}])",
                           gray_row({0, 0, 255, 255}));
  EXPECT_EQ(out.image.pixels.front(), 0);
  EXPECT_EQ(out.image.pixels.back(), 255);
  for (std::size_t i = 1; i < out.image.pixels.size(); ++i) EXPECT_GE(out.image.pixels[i], out.image.pixels[i - 1]);
  for (const char* filter : {"box", "bilinear", "hamming", "bicubic", "lanczos", "nearest"}) {
    Image flat(9, 7, 3);
    std::fill(flat.pixels.begin(), flat.pixels.end(), 123);
    const Sample resized = run_transforms(std::string(R"([{"name": "resize", "size": [3, 4], "interpolation": ")") + filter + "\"}]",
                                 std::move(flat));
    for (const auto v : resized.image.pixels) ASSERT_EQ(v, 123) << filter;
  }
}

TEST(ResampleTest, NearestTakesThePixelUnderEachCentre) {
  // 5 → 2: centres at 1.25 and 3.75 → inputs 1 and 3.
  const Sample out = run_transforms(R"([{"name": "resize", "size": [1, 2], "interpolation": "nearest"}])",
                           gray_row({10, 20, 30, 40, 50}));
  EXPECT_EQ(out.image.pixels, (std::vector<std::uint8_t>{20, 40}));
}

TEST(GeometryTest, ResizeShorterSideKeepsTheRatioLikeTorchvision) {
  const Sample wide = run_transforms(R"([{"name": "resize", "size": 256}])", Image(500, 375, 3));
  EXPECT_EQ(wide.image.width, 341);  // int(256 · 500 / 375) = int(341.33)
  EXPECT_EQ(wide.image.height, 256);
  const Sample tall = run_transforms(R"([{"name": "resize", "size": 10, "max_size": 15}])", Image(20, 40, 3));
  EXPECT_EQ(tall.image.height, 15);  // 10 × 20 would exceed max_size: the longer side becomes 15
  EXPECT_EQ(tall.image.width, 7);
}

TEST(GeometryTest, CenterCropRoundsHalfToEvenLikePython) {
  // (5 - 4) / 2 = 0.5 → round() = 0; (7 - 4) / 2 = 1.5 → 2; (10 - 5) / 2 = 2.5 → 2.
  EXPECT_EQ(run_transforms(R"([{"name": "center_crop", "size": [1, 4]}])", coordinates(5, 1)).image.at(0, 0, 0), 0);
  EXPECT_EQ(run_transforms(R"([{"name": "center_crop", "size": [1, 4]}])", coordinates(7, 1)).image.at(0, 0, 0), 2);
  EXPECT_EQ(run_transforms(R"([{"name": "center_crop", "size": [5, 5]}])", coordinates(10, 10)).image.at(0, 0, 1), 2);
}

TEST(GeometryTest, CenterCropPadsSmallImagesWithTheFill) {
  const Sample out = run_transforms(R"([{"name": "center_crop", "size": [4, 4], "fill": [3, 6, 9]}])", coordinates(2, 2));
  ASSERT_EQ(out.image.width, 4);
  EXPECT_EQ(out.image.at(0, 0, 0), 3);
  EXPECT_EQ(out.image.at(3, 3, 1), 6);
  EXPECT_EQ(out.image.at(0, 0, 2), 9);
  EXPECT_EQ(out.image.at(1, 1, 2), 7);   // the image sits at offset (1, 1)
  EXPECT_EQ(out.image.at(2, 2, 0), 1);
}

TEST(GeometryTest, EvalTransformFollowsTimm) {
  DataConfig config;  // 224, crop_pct 0.875: resize the shorter side to floor(224 / 0.875) = 256, crop 224
  const auto transform = eval_transform(config);
  Sample sample{Image(500, 375, 3)};
  SampleRng rng(0);
  transform->apply(sample, rng);
  EXPECT_EQ(sample.image.width, 224);
  EXPECT_EQ(sample.image.height, 224);
  const auto steps = transform->describe();
  EXPECT_EQ(steps.at("name").as_string(), "resize_center_crop");
  EXPECT_EQ(steps.at("size").as_int64(), 256);
  EXPECT_EQ(steps.at("interpolation").as_string(), "bicubic");

  config.crop_pct = 0.95;
  config.input_size = {3, 288, 288};
  EXPECT_EQ(eval_transform(config)->describe().at("size").as_int64(), 303);  // floor(288 / 0.95)
  config.crop_mode = "squash";
  Sample squashed{Image(500, 100, 3)};
  eval_transform(config)->apply(squashed, rng);
  EXPECT_EQ(squashed.image.width, 288);
  config.crop_mode = "sideways";
  EXPECT_THROW(eval_transform(config), ConfigError);
}

TEST(GeometryTest, FusedResizeAndCropEqualsTheTwoSteps) {
  Image photo(53, 37, 3);
  SampleRng noise(3);
  for (auto& v : photo.pixels) v = static_cast<std::uint8_t>(noise.integer(0, 255));
  for (const char* filter : {"bilinear", "bicubic", "lanczos", "nearest", "box"}) {
    for (const std::string size : {"24", "[30, 20]", "37", "[12, 12]"}) {
      const std::string options = std::string(R"("interpolation": ")") + filter + R"(")";
      const Sample two_steps = run_transforms(R"([{"name": "resize", "size": )" + size + ", " + options +
                                                  R"(}, {"name": "center_crop", "size": [11, 9]}])",
                                              photo);
      const Sample fused = run_transforms(R"([{"name": "resize_center_crop", "size": )" + size +
                                              R"(, "crop_size": [11, 9], )" + options + "}]",
                                          photo);
      EXPECT_EQ(fused.image.pixels, two_steps.image.pixels) << filter << " " << size;
    }
  }
  // A crop larger than the resize pads as center_crop does.
  const Sample padded = run_transforms(R"([{"name": "resize_center_crop", "size": 8, "crop_size": 12}])", photo);
  EXPECT_EQ(padded.image.width, 12);
  EXPECT_EQ(padded.image.at(0, 0, 0), 0);
}

TEST(PresetTest, EveryTrainPresetEndsAtTheInputSize) {
  DataConfig config;
  config.input_size = {3, 40, 32};
  for (const auto& preset : train_presets()) {
    const auto transform = train_transform(preset, config);
    for (std::uint64_t seed = 0; seed < 4; ++seed) {
      Sample sample{coordinates(90, 70)};
      SampleRng rng(seed, 0, seed);
      transform->apply(sample, rng);
      EXPECT_EQ(sample.image.height, 40) << preset;
      EXPECT_EQ(sample.image.width, 32) << preset;
    }
  }
  EXPECT_EQ(train_transform("default", config)->describe().at("transforms").as_array()[2].at("name").as_string(),
            "color_jitter");
}

TEST(GeometryTest, RandomResizedCropIsSeededAndSized) {
  const std::string spec = R"([{"name": "random_resized_crop", "size": 32, "scale": [0.2, 1.0]}])";
  const Sample a = run_transforms(spec, coordinates(120, 90), 5), b = run_transforms(spec, coordinates(120, 90), 5);
  EXPECT_EQ(a.image.width, 32);
  EXPECT_EQ(a.image.height, 32);
  EXPECT_EQ(a.image.pixels, b.image.pixels);
  std::set<std::vector<std::uint8_t>> outputs;
  for (std::uint64_t seed = 0; seed < 8; ++seed) outputs.insert(run_transforms(spec, coordinates(120, 90), seed).image.pixels);
  EXPECT_GT(outputs.size(), 6u) << "different seeds should crop differently";
  // Scale 1 and ratio 1 on a square image: the whole image, resized.
  const Sample whole = run_transforms(R"([{"name": "random_resized_crop", "size": 20, "scale": [1, 1], "ratio": [1, 1],
                                   "interpolation": "nearest"}])",
                             coordinates(40, 40));
  EXPECT_EQ(whole.image.at(0, 0, 0), 1);   // nearest: centre 1.0 of a 2× shrink
  EXPECT_EQ(whole.image.at(19, 19, 1), 39);
}

TEST(GeometryTest, FlipsMirrorExactly) {
  const Sample h = run_transforms(R"([{"name": "horizontal_flip", "p": 1.0}])", coordinates(3, 2));
  EXPECT_EQ(h.image.at(0, 0, 0), 2);
  EXPECT_EQ(h.image.at(2, 1, 0), 0);
  EXPECT_EQ(h.image.at(0, 1, 1), 1);
  const Sample v = run_transforms(R"([{"name": "vertical_flip", "p": 1.0}])", coordinates(3, 2));
  EXPECT_EQ(v.image.at(0, 0, 1), 1);
  const Sample never = run_transforms(R"([{"name": "horizontal_flip", "p": 0.0}])", coordinates(3, 2));
  EXPECT_EQ(never.image.pixels, coordinates(3, 2).pixels);
}

TEST(GeometryTest, RandomCropPadsAndStaysInside) {
  const Sample out = run_transforms(R"([{"name": "random_crop", "size": 4, "padding": 2, "fill": 200}])", coordinates(4, 4), 3);
  EXPECT_EQ(out.image.width, 4);
  EXPECT_THROW(run_transforms(R"([{"name": "random_crop", "size": 8}])", coordinates(4, 4)), ConfigError);
  EXPECT_EQ(run_transforms(R"([{"name": "random_crop", "size": 8, "pad_if_needed": true}])", coordinates(4, 4)).image.width, 8);
}

TEST(TransformConfigTest, UnknownNamesAndOptionsAreRefusedWithHints) {
  const auto unknown = testing::error_text(
      [] { make_transforms(boost::json::parse(R"([{"name": "resise", "size": 3}])").as_array(), "train.transforms"); });
  EXPECT_NE(unknown.find("did you mean 'resize'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("train.transforms[0]"), std::string::npos) << unknown;
  const auto option = testing::error_text(
      [] { make_transforms(boost::json::parse(R"([{"name": "resize", "size": 3, "interpolaton": "bicubic"}])").as_array()); });
  EXPECT_NE(option.find("interpolation"), std::string::npos) << option;
  EXPECT_THROW(make_transforms(boost::json::parse(R"([{"name": "resize", "size": -3}])").as_array()), ConfigError);
  EXPECT_THROW(make_transforms(boost::json::parse(R"([{"name": "horizontal_flip", "p": 2}])").as_array()), ConfigError);
  EXPECT_THROW(make_transforms(boost::json::parse(R"([{"name": "resize", "size": 3, "interpolation": "cubic"}])").as_array()),
               ConfigError);
  EXPECT_THROW(make_transforms(boost::json::parse(R"([3])").as_array()), ConfigError);
  EXPECT_THROW(train_transform("heavy", DataConfig{}), ConfigError);
}

TEST(TransformConfigTest, ApplicationsRegisterTheirOwnTransforms) {
  class Invert final : public Transform {
   public:
    std::string_view name() const override { return "test_invert"; }
    void apply(Sample& sample, SampleRng&) const override {
      for (auto& v : sample.image.pixels) v = static_cast<std::uint8_t>(255 - v);
    }
  };
  register_transform("test_invert", [](const Config&) { return std::make_shared<Invert>(); }, "255 - v");
  EXPECT_THROW(register_transform("test_invert", [](const Config&) { return std::make_shared<Invert>(); }, ""),
               ConfigError);
  EXPECT_EQ(run_transforms(R"([{"name": "test_invert"}])", gray_row({5})).image.pixels[0], 250);
  bool listed = false;
  for (const auto& [name, description] : list_transforms()) listed = listed || name == "test_invert";
  EXPECT_TRUE(listed);
}

TEST(SampleRngTest, StreamsAreReproducibleAndIndependent) {
  SampleRng a(1, 2, 3), b(1, 2, 3), c(1, 3, 2), d(2, 2, 3);
  const auto first = a.next();
  EXPECT_EQ(first, b.next());
  EXPECT_NE(first, c.next());
  EXPECT_NE(first, d.next());
  SampleRng rng(9);
  std::vector<int> counts(5, 0);
  for (int i = 0; i < 5000; ++i) {
    const auto v = rng.integer(2, 6);
    ASSERT_GE(v, 2);
    ASSERT_LE(v, 6);
    ++counts[v - 2];
    const double u = rng.uniform(-1.0, 3.0);
    ASSERT_GE(u, -1.0);
    ASSERT_LT(u, 3.0);
  }
  for (const int count : counts) EXPECT_NEAR(count, 1000, 150);
  std::vector<int> items = {0, 1, 2, 3, 4, 5, 6, 7};
  rng.shuffle(items);
  EXPECT_EQ(std::set<int>(items.begin(), items.end()).size(), 8u);
  EXPECT_NE(items, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

}  // namespace
}  // namespace autotimm
