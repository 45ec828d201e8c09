// The color and auto-augment transforms: each PIL operation on tiny images whose expected pixels are worked out
// by hand from PIL's arithmetic (and agree with Pillow 9.4), then the registered transforms through the public
// make_transform API: options, errors, determinism per SampleRng.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "autotimm/config.hpp"
#include "autotimm/data/transform.hpp"
#include "autotimm/error.hpp"
#include "color_ops.hpp"

namespace {

using autotimm::Image;
using Bytes = std::vector<std::uint8_t>;
namespace ops = autotimm::transforms;

Image make_image(int width, int height, int channels, const Bytes& pixels) {
  Image image(width, height, channels);
  EXPECT_EQ(image.pixels.size(), pixels.size());
  image.pixels = pixels;
  return image;
}

/// A deterministic, busy test picture.
Image pattern_image(int width, int height, int channels = 3) {
  Image image(width, height, channels);
  for (std::size_t i = 0; i < image.pixels.size(); ++i) {
    image.pixels[i] = static_cast<std::uint8_t>((i * 37 + (i / 7) * 11 + (i % 5) * 53) % 256);
  }
  return image;
}

autotimm::TransformPtr make(const std::string& json) {
  return autotimm::make_transform(autotimm::Config::parse(json, "test.json"));
}

Image run(const autotimm::TransformPtr& transform, const Image& image, std::uint64_t seed) {
  autotimm::Sample sample{image};
  autotimm::SampleRng rng(seed);
  transform->apply(sample, rng);
  return sample.image;
}

/// The ConfigError message `json` raises; fails the test when it raises nothing.
std::string config_error(const std::string& json) {
  try {
    make(json);
  } catch (const autotimm::ConfigError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no ConfigError for " << json;
  return {};
}

// ---------------------------------------------------------------------------------------------------------------
// Point and color operations

TEST(ColorOps, LumaIsPilFixedPointNotTruncatedThousandths) {
  // (R*19595 + G*38470 + B*7471 + 0x8000) >> 16. White stays 255; summing truncated R*299/1000 terms gives 254.
  EXPECT_EQ(ops::luma(255, 255, 255), 255);
  EXPECT_EQ(ops::luma(255, 0, 0), 76);   // 5029493 >> 16
  EXPECT_EQ(ops::luma(0, 255, 0), 150);  // 9842618 >> 16
  EXPECT_EQ(ops::luma(0, 0, 255), 29);   // 1937873 >> 16
  EXPECT_EQ(ops::luma(200, 100, 50), 124);  // 8172318 >> 16 = 124.7, rounded down by the shift
}

TEST(ColorOps, BrightnessScalesAndTruncates) {
  Image image = make_image(3, 1, 3, {100, 200, 50, 10, 0, 255, 128, 128, 128});
  ops::adjust_brightness(image, 1.5);  // v * 1.5, clipped at 255
  EXPECT_EQ(image.pixels, (Bytes{150, 255, 75, 15, 0, 255, 192, 192, 192}));
  Image white = make_image(1, 1, 3, {255, 255, 255});
  ops::adjust_brightness(white, 0.3);  // 255 * 0.3f = 76.5000030: PIL truncates to 76 (rounding would give 77)
  EXPECT_EQ(white.pixels, (Bytes{76, 76, 76}));
}

TEST(ColorOps, ContrastBlendsWithRoundedGrayMean) {
  // L = 76 and 29: mean 52.5, int(52.5 + 0.5) = 53. Factor 0.5: 53 + 0.5 (255 - 53) = 154; 53 - 26.5 = 26.5 → 26.
  Image image = make_image(2, 1, 3, {255, 0, 0, 0, 0, 255});
  Image half = image;
  ops::adjust_contrast(half, 0.5);
  EXPECT_EQ(half.pixels, (Bytes{154, 26, 26, 26, 26, 154}));
  ops::adjust_contrast(image, 2.0);  // 53 + 2 * 202 and 53 - 2 * 53 clip to 255 and 0
  EXPECT_EQ(image.pixels, (Bytes{255, 0, 0, 0, 0, 255}));
}

TEST(ColorOps, SaturationBlendsWithEachPixelsLuma) {
  // (200, 100, 50) has L = 124.
  Image gray = make_image(1, 1, 3, {200, 100, 50});
  ops::adjust_saturation(gray, 0.0);
  EXPECT_EQ(gray.pixels, (Bytes{124, 124, 124}));
  Image half = make_image(1, 1, 3, {200, 100, 50});
  ops::adjust_saturation(half, 0.5);  // 124 + 38, 124 - 12, 124 - 37
  EXPECT_EQ(half.pixels, (Bytes{162, 112, 87}));
  Image twice = make_image(1, 1, 3, {200, 100, 50});
  ops::adjust_saturation(twice, 2.0);  // 276 → 255, 76, -24 → 0
  EXPECT_EQ(twice.pixels, (Bytes{255, 76, 0}));
  Image single = make_image(2, 1, 1, {10, 200});
  ops::adjust_saturation(single, 0.0);  // a gray image is its own degenerate
  EXPECT_EQ(single.pixels, (Bytes{10, 200}));
}

TEST(ColorOps, HueRotatesPilHsv) {
  // Red is H 0, S 255, V 255. +0.5: shift trunc(127.5) = 127, i = floor(127 * 6 / 255) = 2, f = 0.988:
  // (p, v, t) = (0, 255, round(255 * 0.988)) = (0, 255, 252). A gray pixel (S 0) keeps its value.
  Image image = make_image(2, 1, 3, {255, 0, 0, 90, 90, 90});
  ops::adjust_hue(image, 0.5);
  EXPECT_EQ(image.pixels, (Bytes{0, 255, 252, 90, 90, 90}));
  // -0.25: trunc(-63.75) = -63, H = 256 - 63 = 193, i = 4, f = 0.541: (t, p, v) = (138, 0, 255).
  Image back = make_image(2, 1, 3, {255, 0, 0, 90, 90, 90});
  ops::adjust_hue(back, -0.25);
  EXPECT_EQ(back.pixels, (Bytes{138, 0, 255, 90, 90, 90}));
  EXPECT_THROW(ops::adjust_hue(back, 0.6), autotimm::Error);
}

TEST(ColorOps, SharpnessBlendsWithSmoothAndKeepsTheBorder) {
  // SMOOTH at the center: (8 * 13 + 5 * 130) / 13 = 58. Factor 0 gives 58, factor 2 gives 58 + 2 * 72 = 202.
  const Bytes pixels = {13, 13, 13, 13, 130, 13, 13, 13, 13};
  Image blurred = make_image(3, 3, 1, pixels);
  ops::adjust_sharpness(blurred, 0.0);
  EXPECT_EQ(blurred.pixels, (Bytes{13, 13, 13, 13, 58, 13, 13, 13, 13}));
  Image sharpened = make_image(3, 3, 1, pixels);
  ops::adjust_sharpness(sharpened, 2.0);
  EXPECT_EQ(sharpened.pixels, (Bytes{13, 13, 13, 13, 202, 13, 13, 13, 13}));
  Image tiny = make_image(2, 2, 1, {0, 255, 255, 0});  // smaller than the kernel: unchanged
  ops::adjust_sharpness(tiny, 0.0);
  EXPECT_EQ(tiny.pixels, (Bytes{0, 255, 255, 0}));
}

TEST(ColorOps, PosterizeSolarizeInvert) {
  Image image = make_image(3, 1, 1, {191, 31, 255});
  ops::posterize(image, 3);  // keep the top 3 bits: & 0xE0
  EXPECT_EQ(image.pixels, (Bytes{160, 0, 224}));
  Image solar = make_image(5, 1, 1, {127, 128, 200, 0, 255});
  ops::solarize(solar, 128);  // values >= 128 become 255 - v
  EXPECT_EQ(solar.pixels, (Bytes{127, 127, 55, 0, 0}));
  Image inverted = make_image(2, 1, 1, {0, 200});
  ops::invert(inverted);
  EXPECT_EQ(inverted.pixels, (Bytes{255, 55}));
  EXPECT_THROW(ops::posterize(inverted, 9), autotimm::Error);
}

TEST(ColorOps, AutocontrastStretchesEachChannel) {
  // Red spans 50..150: scale 2.55, offset -127.5; 100 → int(127.49999999999999) = 127. Green spans 0..20 likewise.
  // Blue is constant: identity.
  Image image = make_image(3, 1, 3, {50, 0, 7, 100, 10, 7, 150, 20, 7});
  ops::autocontrast(image);
  EXPECT_EQ(image.pixels, (Bytes{0, 0, 7, 127, 127, 7, 255, 255, 7}));
}

TEST(ColorOps, EqualizeFollowsPilSteps) {
  // 510 pixels at 10, 255 at 20, 255 at 30: step = (1020 - 255) // 255 = 3, n starts at 1:
  // 10 → 1 // 3 = 0, 20 → (1 + 510) // 3 = 170, 30 → (1 + 765) // 3 = 255.
  Bytes pixels(510, 10);
  pixels.insert(pixels.end(), 255, 20);
  pixels.insert(pixels.end(), 255, 30);
  Image image = make_image(1020, 1, 1, pixels);
  ops::equalize(image);
  EXPECT_EQ(image.pixels[0], 0);
  EXPECT_EQ(image.pixels[510], 170);
  EXPECT_EQ(image.pixels[1019], 255);
  Image few = make_image(3, 1, 1, {10, 20, 30});  // step 0: unchanged
  ops::equalize(few);
  EXPECT_EQ(few.pixels, (Bytes{10, 20, 30}));
}

TEST(ColorOps, GrayscaleOneOrThreeChannels) {
  const Image image = make_image(1, 1, 3, {200, 100, 50});
  const Image one = ops::to_grayscale(image, 1);
  EXPECT_EQ(one.channels, 1);
  EXPECT_EQ(one.pixels, (Bytes{124}));
  const Image three = ops::to_grayscale(image, 3);
  EXPECT_EQ(three.channels, 3);
  EXPECT_EQ(three.pixels, (Bytes{124, 124, 124}));
}

TEST(ColorOps, GaussianBlurNormalizedKernelWithReflectPadding) {
  // Kernel 3, sigma 1: weights exp(-0.5), 1, exp(-0.5) over their sum = 0.27407, 0.45186, 0.27407. Reflect
  // padding mirrors 255 onto both sides of the zeros: 2 * 0.27407 * 255 = 139.8 → 140, 0.45186 * 255 → 115.
  Image image = make_image(3, 1, 1, {0, 255, 0});
  ops::gaussian_blur(image, 3, 1, 1.0, 1.0);
  EXPECT_EQ(image.pixels, (Bytes{140, 115, 140}));
  Image flat(6, 5, 3);
  std::fill(flat.pixels.begin(), flat.pixels.end(), 200);
  ops::gaussian_blur(flat, 5, 3, 1.7, 0.4);
  EXPECT_TRUE(std::all_of(flat.pixels.begin(), flat.pixels.end(), [](std::uint8_t v) { return v == 200; }));
}

// ---------------------------------------------------------------------------------------------------------------
// Affine ops, nearest, fill 99. The 4x3 test image holds 1..12 row by row.

Image numbered_4x3() { return make_image(4, 3, 1, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}); }

TEST(AffineOps, ShearXReadsXPlusMagnitudeTimesY) {
  // Output (x, y) reads x' = floor(x + 0.5 + 0.5 (y + 0.5)): +0 on row 0, +1 on rows 1 and 2.
  Image image = numbered_4x3();
  ops::shear_x(image, 0.5, 99);
  EXPECT_EQ(image.pixels, (Bytes{1, 2, 3, 4, 6, 7, 8, 99, 10, 11, 12, 99}));
}

TEST(AffineOps, ShearYReadsYPlusMagnitudeTimesX) {
  // y' = floor(y + 0.5 - 0.5 (x + 0.5)): column 0 unchanged, columns 1-2 read one row up, column 3 two rows up.
  Image image = numbered_4x3();
  ops::shear_y(image, -0.5, 99);
  EXPECT_EQ(image.pixels, (Bytes{1, 99, 99, 99, 5, 2, 3, 99, 9, 6, 7, 4}));
}

TEST(AffineOps, TranslateMovesContent) {
  Image right = numbered_4x3();
  ops::translate_x(right, 1, 99);
  EXPECT_EQ(right.pixels, (Bytes{99, 1, 2, 3, 99, 5, 6, 7, 99, 9, 10, 11}));
  Image up = numbered_4x3();
  ops::translate_y(up, -1, 99);
  EXPECT_EQ(up.pixels, (Bytes{5, 6, 7, 8, 9, 10, 11, 12, 99, 99, 99, 99}));
}

TEST(AffineOps, RotateCounterClockwiseAboutTheCenter) {
  Image square = make_image(2, 2, 1, {1, 2, 3, 4});
  ops::rotate(square, 90, 99);  // exact transpose on square images
  EXPECT_EQ(square.pixels, (Bytes{2, 4, 1, 3}));
  Image back = make_image(2, 2, 1, {1, 2, 3, 4});
  ops::rotate(back, -90, 99);  // -90 % 360 = 270
  EXPECT_EQ(back.pixels, (Bytes{3, 1, 4, 2}));
  Image half_turn = make_image(2, 2, 1, {1, 2, 3, 4});
  ops::rotate(half_turn, 180, 99);
  EXPECT_EQ(half_turn.pixels, (Bytes{4, 3, 2, 1}));
  // Not square: PIL's affine engine about (2, 1.5). Output (x, y) reads (3 - y, x); column 3 reads row 3: fill.
  Image wide = numbered_4x3();
  ops::rotate(wide, 90, 99);
  EXPECT_EQ(wide.pixels, (Bytes{4, 8, 12, 99, 3, 7, 11, 99, 2, 6, 10, 99}));
  Image thirty = numbered_4x3();
  ops::rotate(thirty, 30, 99);  // PIL 9.4's Image.rotate(30, NEAREST, fillcolor=99)
  EXPECT_EQ(thirty.pixels, (Bytes{99, 3, 3, 8, 1, 6, 7, 12, 5, 10, 10, 99}));
}

TEST(AffineOps, InverseMatrixOfPureTranslationIsAShift) {
  const auto m = ops::inverse_affine_matrix(10.0, 5.0, 0.0, 3.0, -2.0, 1.0, 0.0, 0.0);
  EXPECT_DOUBLE_EQ(m[0], 1.0);
  EXPECT_DOUBLE_EQ(m[1], 0.0);
  EXPECT_DOUBLE_EQ(m[2], -3.0);
  EXPECT_DOUBLE_EQ(m[3], 0.0);
  EXPECT_DOUBLE_EQ(m[4], 1.0);
  EXPECT_DOUBLE_EQ(m[5], 2.0);
}

// ---------------------------------------------------------------------------------------------------------------
// Registered transforms

TEST(ColorTransforms, AllAreRegistered) {
  std::vector<std::string> names;
  for (const auto& [name, description] : autotimm::list_transforms()) {
    names.push_back(name);
    EXPECT_FALSE(description.empty()) << name;
  }
  for (const char* expected : {"color_jitter", "grayscale", "random_grayscale", "gaussian_blur", "solarize", "posterize",
                               "equalize", "autocontrast", "invert", "sharpness", "randaugment", "trivialaugment",
                               "autoaugment"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
}

TEST(ColorTransforms, JitterWithZeroRangesIsIdentity) {
  const auto jitter = make(R"({"name": "color_jitter", "brightness": 0, "contrast": 0, "saturation": 0, "hue": 0})");
  const Image image = pattern_image(7, 5);
  EXPECT_EQ(run(jitter, image, 3).pixels, image.pixels);
  EXPECT_EQ(jitter->describe(), (boost::json::object{{"name", "color_jitter"}}));
}

TEST(ColorTransforms, JitterIsDeterministicPerSeed) {
  const auto jitter =
      make(R"({"name": "color_jitter", "brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1})");
  const Image image = pattern_image(9, 6);
  EXPECT_EQ(run(jitter, image, 11).pixels, run(jitter, image, 11).pixels);
  EXPECT_NE(run(jitter, image, 11).pixels, run(jitter, image, 12).pixels);
  EXPECT_NE(run(jitter, image, 11).pixels, image.pixels);
  const auto described = jitter->describe();
  EXPECT_EQ(described.at("brightness"), (boost::json::array{0.6, 1.4}));
  EXPECT_EQ(described.at("hue"), (boost::json::array{-0.1, 0.1}));
}

TEST(ColorTransforms, JitterBrightnessStaysInItsRange) {
  // brightness only, factors in [2, 2]: exactly adjust_brightness(2).
  const auto jitter = make(R"({"name": "color_jitter", "brightness": [2.0, 2.0]})");
  const Image image = make_image(2, 1, 3, {10, 100, 200, 0, 1, 127});
  EXPECT_EQ(run(jitter, image, 5).pixels, (Bytes{20, 200, 255, 0, 2, 254}));
}

TEST(ColorTransforms, JitterRejectsBadRanges) {
  EXPECT_NE(config_error(R"({"name": "color_jitter", "brightness": -0.1})").find("'brightness'"), std::string::npos);
  EXPECT_NE(config_error(R"({"name": "color_jitter", "contrast": [1.5, 0.5]})").find("'contrast'"), std::string::npos);
  EXPECT_NE(config_error(R"({"name": "color_jitter", "saturation": [-1, 2]})").find("'saturation'"), std::string::npos);
  const auto hue = config_error(R"({"name": "color_jitter", "hue": 0.6})");
  EXPECT_NE(hue.find("'hue'"), std::string::npos);
  EXPECT_NE(hue.find("test.json"), std::string::npos);
  EXPECT_NE(config_error(R"({"name": "color_jitter", "brigthness": 0.4})").find("brightness"), std::string::npos);
}

TEST(ColorTransforms, GrayscaleAndRandomGrayscale) {
  const Image image = make_image(1, 1, 3, {200, 100, 50});
  EXPECT_EQ(run(make(R"({"name": "grayscale"})"), image, 1).pixels, (Bytes{124}));
  EXPECT_EQ(run(make(R"({"name": "grayscale", "num_output_channels": 3})"), image, 1).pixels, (Bytes{124, 124, 124}));
  EXPECT_EQ(run(make(R"({"name": "random_grayscale", "p": 1})"), image, 1).pixels, (Bytes{124, 124, 124}));
  EXPECT_EQ(run(make(R"({"name": "random_grayscale", "p": 0})"), image, 1).pixels, image.pixels);
  EXPECT_NE(config_error(R"({"name": "grayscale", "num_output_channels": 2})").find("'num_output_channels'"),
            std::string::npos);
  EXPECT_NE(config_error(R"({"name": "random_grayscale", "p": 1.5})").find("'p'"), std::string::npos);
}

TEST(ColorTransforms, RandomOpsHonourP) {
  const Image image = make_image(3, 1, 1, {0, 100, 200});
  EXPECT_EQ(run(make(R"({"name": "invert", "p": 1})"), image, 1).pixels, (Bytes{255, 155, 55}));
  EXPECT_EQ(run(make(R"({"name": "invert", "p": 0})"), image, 1).pixels, image.pixels);
  EXPECT_EQ(run(make(R"({"name": "solarize", "threshold": 150, "p": 1})"), image, 1).pixels, (Bytes{0, 100, 55}));
  EXPECT_EQ(run(make(R"({"name": "posterize", "bits": 1, "p": 1})"), image, 1).pixels, (Bytes{0, 0, 128}));
  // Autocontrast over 0..200: scale 255.0 / 200 = 1.2749999999999999, so 200 maps to int(254.99999999999997) = 254,
  // as in PIL.
  EXPECT_EQ(run(make(R"({"name": "autocontrast", "p": 1})"), image, 1).pixels, (Bytes{0, 127, 254}));
  EXPECT_EQ(run(make(R"({"name": "equalize", "p": 1})"), image, 1).pixels, image.pixels);  // too few pixels
  // p = 0.5 over many seeds: some inverted, some not.
  const auto half = make(R"({"name": "invert"})");
  int inverted = 0;
  for (std::uint64_t seed = 0; seed < 64; ++seed) inverted += run(half, image, seed).pixels != image.pixels;
  EXPECT_GT(inverted, 10);
  EXPECT_LT(inverted, 54);
  EXPECT_EQ(half->describe(), (boost::json::object{{"name", "invert"}, {"p", 0.5}}));
}

TEST(ColorTransforms, RandomOpsRejectBadOptions) {
  EXPECT_NE(config_error(R"({"name": "solarize"})").find("threshold"), std::string::npos);
  EXPECT_NE(config_error(R"({"name": "solarize", "threshold": 300})").find("'threshold'"), std::string::npos);
  EXPECT_NE(config_error(R"({"name": "posterize", "bits": 9})").find("'bits'"), std::string::npos);
  EXPECT_NE(config_error(R"({"name": "sharpness", "sharpness_factor": -1})").find("'sharpness_factor'"),
            std::string::npos);
  EXPECT_NE(config_error(R"({"name": "equalize", "p": -0.5})").find("'p'"), std::string::npos);
}

TEST(ColorTransforms, GaussianBlurOptions) {
  const auto blur = make(R"({"name": "gaussian_blur", "kernel_size": [3, 1], "sigma": 1.0})");
  EXPECT_EQ(run(blur, make_image(3, 1, 1, {0, 255, 0}), 4).pixels, (Bytes{140, 115, 140}));
  const auto random_sigma = make(R"({"name": "gaussian_blur", "kernel_size": 5})");
  const Image image = pattern_image(8, 8);
  EXPECT_EQ(run(random_sigma, image, 9).pixels, run(random_sigma, image, 9).pixels);
  EXPECT_NE(run(random_sigma, image, 9).pixels, run(random_sigma, image, 10).pixels);
  EXPECT_NE(config_error(R"({"name": "gaussian_blur", "kernel_size": 4})").find("'kernel_size'"), std::string::npos);
  EXPECT_NE(config_error(R"({"name": "gaussian_blur", "kernel_size": 3, "sigma": [0, 1]})").find("'sigma'"),
            std::string::npos);
  EXPECT_NE(config_error(R"({"name": "gaussian_blur"})").find("kernel_size"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------------
// Auto-augment

void expect_augment_behaviour(const autotimm::TransformPtr& augment) {
  const Image image = pattern_image(32, 24);
  int changed = 0;
  for (std::uint64_t seed = 0; seed < 24; ++seed) {
    const Image out = run(augment, image, seed);
    ASSERT_EQ(out.width, 32);
    ASSERT_EQ(out.height, 24);
    ASSERT_EQ(out.channels, 3);
    EXPECT_EQ(out.pixels, run(augment, image, seed).pixels) << "seed " << seed;
    changed += out.pixels != image.pixels;
  }
  EXPECT_GE(changed, 12) << augment->name() << " left most images as they were";
  const Image gray = run(augment, pattern_image(17, 9, 1), 3);
  EXPECT_EQ(gray.width, 17);
  EXPECT_EQ(gray.channels, 1);
}

TEST(AutoAugment, RandAugment) {
  const auto augment = make(R"({"name": "randaugment", "num_ops": 2, "magnitude": 9})");
  expect_augment_behaviour(augment);
  EXPECT_EQ(augment->describe(), (boost::json::object{{"name", "randaugment"}, {"num_ops", 2}, {"magnitude", 9},
                                                       {"num_magnitude_bins", 31}, {"fill", 0}}));
  // No ops: the identity.
  const Image image = pattern_image(8, 8);
  EXPECT_EQ(run(make(R"({"name": "randaugment", "num_ops": 0})"), image, 1).pixels, image.pixels);
}

TEST(AutoAugment, TrivialAugmentWide) { expect_augment_behaviour(make(R"({"name": "trivialaugment"})")); }

TEST(AutoAugment, AutoAugmentPolicies) {
  expect_augment_behaviour(make(R"({"name": "autoaugment"})"));
  expect_augment_behaviour(make(R"({"name": "autoaugment", "policy": "cifar10", "fill": 128})"));
  expect_augment_behaviour(make(R"({"name": "autoaugment", "policy": "svhn"})"));
}

TEST(AutoAugment, RejectsBadOptions) {
  EXPECT_NE(config_error(R"({"name": "randaugment", "magnitude": 31})").find("'magnitude'"), std::string::npos);
  EXPECT_NE(config_error(R"({"name": "randaugment", "num_magnitude_bins": 1})").find("'num_magnitude_bins'"),
            std::string::npos);
  EXPECT_NE(config_error(R"({"name": "randaugment", "num_ops": -1})").find("'num_ops'"), std::string::npos);
  EXPECT_NE(config_error(R"({"name": "trivialaugment", "fill": 256})").find("'fill'"), std::string::npos);
  const auto policy = config_error(R"({"name": "autoaugment", "policy": "imagenet21k"})");
  EXPECT_NE(policy.find("'policy'"), std::string::npos);
  EXPECT_NE(policy.find("cifar10"), std::string::npos);
}

}  // namespace
