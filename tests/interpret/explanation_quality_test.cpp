// Judging and showing explanations: colormaps, normalisation and overlays checked against values worked out by hand;
// baselines; deletion and insertion curves on a score function whose curves are known in closed form; the pointing
// game; Attention Rollout on a tiny ViT against an independent computation from the captured attention weights.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <tuple>
#include <cstdint>
#include <string>
#include <vector>

#include "autotimm/backbones.hpp"
#include "autotimm/error.hpp"
#include "autotimm/interpret/attention_rollout.hpp"
#include "autotimm/interpret/baselines.hpp"
#include "autotimm/interpret/explanation_metrics.hpp"
#include "autotimm/interpret/heatmap_image.hpp"
#include "autotimm/layers/attention.hpp"
#include "support/error_text.hpp"

namespace {

namespace ai = autotimm::interpret;
using autotimm::testing::error_text;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::array<int, 3> colour(const at::Tensor& rgb, std::int64_t y, std::int64_t x) {
  return {rgb[y][x][0].item<int>(), rgb[y][x][1].item<int>(), rgb[y][x][2].item<int>()};
}

std::array<int, 3> colour_of(double t, ai::Colormap colormap) {
  return colour(ai::apply_colormap(torch::full({1, 1}, t, torch::kDouble), colormap), 0, 0);
}

// ---- Colormaps, normalisation, overlays -----------------------------------------------------------------------------

TEST(HeatmapImage, ColormapsHaveTheirKnownEndpointsAndMidpoints) {
  using C = std::array<int, 3>;
  // jet (matplotlib's segments): dark blue → dark red; at 0.5 red = blue = 0.15 / 0.31, green = 1.
  EXPECT_EQ(colour_of(0.0, ai::Colormap::jet), (C{0, 0, 128}));
  EXPECT_EQ(colour_of(1.0, ai::Colormap::jet), (C{128, 0, 0}));
  EXPECT_EQ(colour_of(0.5, ai::Colormap::jet), (C{123, 255, 123}));
  EXPECT_EQ(colour_of(0.125, ai::Colormap::jet), (C{0, 0, 255}));  // green starts rising, blue saturated
  // viridis and inferno: matplotlib's first, last and 1/9 entries.
  EXPECT_EQ(colour_of(0.0, ai::Colormap::viridis), (C{0x44, 0x01, 0x54}));
  EXPECT_EQ(colour_of(1.0, ai::Colormap::viridis), (C{0xfd, 0xe7, 0x25}));
  EXPECT_EQ(colour_of(1.0 / 9.0, ai::Colormap::viridis), (C{0x48, 0x28, 0x78}));
  EXPECT_EQ(colour_of(0.0, ai::Colormap::inferno), (C{0x00, 0x00, 0x04}));
  EXPECT_EQ(colour_of(1.0, ai::Colormap::inferno), (C{0xfc, 0xff, 0xa4}));
  // A quarter of the way from viridis's 4/9 entry (38, 130, 142) to its 5/9 one (31, 158, 137).
  EXPECT_EQ(colour_of(4.25 / 9.0, ai::Colormap::viridis), (C{36, 137, 141}));
  EXPECT_EQ(colour_of(0.5, ai::Colormap::gray), (C{128, 128, 128}));
  // Outside [0, 1] is clamped.
  EXPECT_EQ(colour_of(-3.0, ai::Colormap::jet), colour_of(0.0, ai::Colormap::jet));
  EXPECT_EQ(colour_of(7.0, ai::Colormap::inferno), colour_of(1.0, ai::Colormap::inferno));

  const auto rgb = ai::apply_colormap(torch::tensor({{0.0F, 1.0F, 0.5F}}), ai::Colormap::gray);
  EXPECT_EQ(rgb.sizes(), torch::IntArrayRef({1, 3, 3}));
  EXPECT_EQ(rgb.scalar_type(), torch::kUInt8);
  EXPECT_EQ(colour(rgb, 0, 1), (C{255, 255, 255}));
}

TEST(HeatmapImage, ColormapNamesRoundTripAndUnknownOnesAreListed) {
  for (const auto colormap : {ai::Colormap::jet, ai::Colormap::viridis, ai::Colormap::inferno, ai::Colormap::gray}) {
    EXPECT_EQ(ai::parse_colormap(ai::colormap_name(colormap)), colormap);
  }
  EXPECT_THROW(ai::parse_colormap("hot"), autotimm::ConfigError);
  const auto message = error_text([] { ai::parse_colormap("hot"); });
  EXPECT_TRUE(contains(message, "'hot'")) << message;
  EXPECT_TRUE(contains(message, "jet, viridis, inferno, gray")) << message;
  EXPECT_THROW(ai::apply_colormap(torch::zeros({2, 2, 2})), autotimm::ConfigError);
}

TEST(HeatmapImage, NormalizeScalesEachMapByItsOwnMinAndMax) {
  auto maps = torch::zeros({2, 2, 3});
  maps[0] = torch::tensor({{2.0F, 4.0F, 6.0F}, {3.0F, 10.0F, 2.0F}});
  maps[1].fill_(5.0F);  // constant: all zeros
  const auto out = ai::normalize_heatmap(maps);
  const auto expected0 = torch::tensor({{0.0F, 0.25F, 0.5F}, {0.125F, 1.0F, 0.0F}});
  EXPECT_TRUE(torch::allclose(out[0], expected0));
  EXPECT_TRUE(torch::equal(out[1], torch::zeros({2, 3})));
  // Integer maps become float; the input is not changed.
  const auto ints = ai::normalize_heatmap(torch::tensor({{0, 2}, {4, 8}}));
  EXPECT_EQ(ints.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(ints, torch::tensor({{0.0F, 0.25F}, {0.5F, 1.0F}})));
  EXPECT_EQ(maps[0][1][1].item<float>(), 10.0F);
  EXPECT_THROW(ai::normalize_heatmap(torch::zeros({4})), autotimm::ConfigError);
}

TEST(HeatmapImage, ResizeIsBilinearWithHalfPixelCentres) {
  // 1 × 2 → 1 × 4: output x maps to source (x + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped).
  const auto out = ai::resize_heatmap(torch::tensor({{0.0F, 4.0F}}), 1, 4);
  EXPECT_TRUE(torch::allclose(out, torch::tensor({{0.0F, 1.0F, 3.0F, 4.0F}})));
  const auto same = torch::rand({3, 5});
  EXPECT_TRUE(torch::equal(ai::resize_heatmap(same, 3, 5), same));
  EXPECT_EQ(ai::resize_heatmap(torch::rand({2, 3, 5}), 7, 9).sizes(), torch::IntArrayRef({2, 7, 9}));
}

TEST(HeatmapImage, OverlayBlendsTheColouredMapOverTheImage) {
  autotimm::Image image(2, 2, 3);
  const std::array<std::array<int, 3>, 4> pixels = {{{10, 20, 30}, {200, 100, 50}, {0, 255, 128}, {90, 90, 90}}};
  for (int i = 0; i < 4; ++i) {
    for (int c = 0; c < 3; ++c) image.at(i % 2, i / 2, c) = static_cast<std::uint8_t>(pixels[i][c]);
  }
  // A 1 × 2 map resized to 2 × 2 gives columns 0 and 1 (normalised: 0 and 1): jet's (0, 0, 128) and (128, 0, 0).
  const auto out = ai::overlay_heatmap(image, torch::tensor({{3.0F, 7.0F}}), 0.25, ai::Colormap::jet);
  ASSERT_EQ(out.width, 2);
  ASSERT_EQ(out.height, 2);
  ASSERT_EQ(out.channels, 3);
  const std::array<std::array<int, 3>, 2> jet = {{{0, 0, 128}, {128, 0, 0}}};
  for (int i = 0; i < 4; ++i) {
    for (int c = 0; c < 3; ++c) {
      const double expected = 0.75 * pixels[i][c] + 0.25 * jet[i % 2][c];
      EXPECT_EQ(out.at(i % 2, i / 2, c), static_cast<int>(std::lround(expected))) << "pixel " << i << " channel " << c;
    }
  }
  // A gray image is blended as three equal channels; alpha 0 keeps it, alpha 1 is the colour alone.
  autotimm::Image gray(3, 1, 1);
  gray.pixels = {0, 100, 255};
  const auto kept = ai::overlay_heatmap(gray, torch::tensor({{0.0F, 0.5F, 1.0F}}), 0.0);
  EXPECT_EQ(kept.pixels, (std::vector<std::uint8_t>{0, 0, 0, 100, 100, 100, 255, 255, 255}));
  const auto coloured = ai::overlay_heatmap(gray, torch::tensor({{0.0F, 0.5F, 1.0F}}), 1.0, ai::Colormap::gray);
  EXPECT_EQ(coloured.pixels, (std::vector<std::uint8_t>{0, 0, 0, 128, 128, 128, 255, 255, 255}));

  EXPECT_THROW(ai::overlay_heatmap(image, torch::zeros({2, 2}), 1.5), autotimm::ConfigError);
  EXPECT_THROW(ai::overlay_heatmap(autotimm::Image(2, 2, 4), torch::zeros({2, 2})), autotimm::ConfigError);
  EXPECT_THROW(ai::overlay_heatmap(image, torch::zeros({1, 2, 2})), autotimm::ConfigError);
}

// ---- Baselines ------------------------------------------------------------------------------------------------------

const std::vector<double> kMean = {0.485, 0.456, 0.406};
const std::vector<double> kStd = {0.229, 0.224, 0.225};

at::Tensor normalise(const at::Tensor& pixels) {
  return (pixels - torch::tensor(kMean).to(torch::kFloat).reshape({1, 3, 1, 1})) /
         torch::tensor(kStd).to(torch::kFloat).reshape({1, 3, 1, 1});
}

TEST(Baselines, BlackAndWhiteAreNormalisedZerosAndOnesExactly) {
  const auto images = torch::randn({2, 3, 5, 4});
  const auto black = ai::make_baseline(ai::BaselineKind::black, images);
  const auto white = ai::make_baseline(ai::BaselineKind::white, images);
  ASSERT_EQ(black.sizes(), images.sizes());
  ASSERT_EQ(black.scalar_type(), torch::kFloat);
  for (std::int64_t c = 0; c < 3; ++c) {
    const float m = static_cast<float>(kMean[static_cast<std::size_t>(c)]);
    const float s = static_cast<float>(kStd[static_cast<std::size_t>(c)]);
    EXPECT_TRUE(torch::equal(black.select(1, c), torch::full({2, 5, 4}, (0.0F - m) / s))) << c;
    EXPECT_TRUE(torch::equal(white.select(1, c), torch::full({2, 5, 4}, (1.0F - m) / s))) << c;
  }
  // The dtype follows the images, the normalisation follows the options.
  const auto doubles = ai::make_baseline(ai::BaselineKind::white, images.to(torch::kDouble),
                                         {.mean = {0.5, 0.5, 0.5}, .std = {0.5, 0.25, 2.0}});
  EXPECT_EQ(doubles.scalar_type(), torch::kDouble);
  EXPECT_EQ(doubles[1][0][4][3].item<double>(), 1.0);
  EXPECT_EQ(doubles[1][1][4][3].item<double>(), 2.0);
  EXPECT_EQ(doubles[1][2][4][3].item<double>(), 0.25);
}

TEST(Baselines, BlurKeepsTheMeanAndRemovesDetail) {
  // A checkerboard of black and white pixels: blurred, it turns grey everywhere.
  const auto checker = (torch::arange(16).reshape({16, 1}) + torch::arange(16).reshape({1, 16})).remainder(2);
  const auto pixels = checker.to(torch::kFloat).expand({1, 3, 16, 16}).contiguous();
  const auto images = normalise(pixels);
  const auto blurred = ai::make_baseline(ai::BaselineKind::blur, images, {.blur_sigma = 2.0});
  ASSERT_EQ(blurred.sizes(), images.sizes());
  const auto blurred_pixels = blurred * torch::tensor(kStd).to(torch::kFloat).reshape({1, 3, 1, 1}) +
                              torch::tensor(kMean).to(torch::kFloat).reshape({1, 3, 1, 1});
  EXPECT_NEAR(blurred_pixels.mean().item<double>(), pixels.mean().item<double>(), 0.02);
  // Away from the border (3 sigma), every pixel is grey: it was 0 or 1.
  const auto inside = blurred_pixels.narrow(2, 6, 4).narrow(3, 6, 4);
  EXPECT_LT((inside - 0.5).abs().max().item<double>(), 0.01);
  // A random image keeps its mean too and loses most of its pixel-to-pixel variation.
  const auto noise = torch::rand({1, 3, 32, 32});
  const auto smooth = ai::make_baseline(ai::BaselineKind::blur, noise, {.mean = {0, 0, 0}, .std = {1, 1, 1}});
  EXPECT_NEAR(smooth.mean().item<double>(), noise.mean().item<double>(), 0.01);
  const auto variation = [](const at::Tensor& x) { return (x.narrow(3, 1, 31) - x.narrow(3, 0, 31)).abs().mean(); };
  EXPECT_LT(variation(smooth).item<double>(), 0.25 * variation(noise).item<double>());
  // A constant image stays itself (the border is replicated), and blurring commutes with the normalisation.
  const auto grey = normalise(torch::full({1, 3, 9, 7}, 0.3F));
  EXPECT_TRUE(torch::allclose(ai::make_baseline(ai::BaselineKind::blur, grey), grey, 1e-5, 1e-5));
  const auto random_pixels = torch::rand({2, 3, 12, 10});
  const auto blur_then_normalise =
      normalise(ai::make_baseline(ai::BaselineKind::blur, random_pixels, {.mean = {0, 0, 0}, .std = {1, 1, 1}}));
  EXPECT_TRUE(torch::allclose(ai::make_baseline(ai::BaselineKind::blur, normalise(random_pixels)),
                              blur_then_normalise, 1e-4, 1e-4));
  // The default sigma, max(H, W) / 16 = 1 for 16 × 16, equals asking for 1.
  EXPECT_TRUE(torch::equal(ai::make_baseline(ai::BaselineKind::blur, images),
                           ai::make_baseline(ai::BaselineKind::blur, images, {.blur_sigma = 1.0})));
}

TEST(Baselines, RandomIsSeededUniformPixels) {
  const auto images = torch::zeros({2, 3, 32, 32});
  const auto a = ai::make_baseline(ai::BaselineKind::random, images, {.seed = 7});
  const auto b = ai::make_baseline(ai::BaselineKind::random, images, {.seed = 7});
  const auto c = ai::make_baseline(ai::BaselineKind::random, images, {.seed = 8});
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  const auto pixels = a * torch::tensor(kStd).to(torch::kFloat).reshape({1, 3, 1, 1}) +
                      torch::tensor(kMean).to(torch::kFloat).reshape({1, 3, 1, 1});
  EXPECT_GE(pixels.min().item<double>(), -1e-6);
  EXPECT_LE(pixels.max().item<double>(), 1.0 + 1e-6);
  EXPECT_NEAR(pixels.mean().item<double>(), 0.5, 0.02);  // 6144 uniform samples: sd of the mean ≈ 0.004
  EXPECT_FALSE(torch::equal(a[0], a[1]));                   // not one noise image repeated
}

TEST(Baselines, NamesRoundTripAndBadInputIsRefused) {
  for (const auto kind :
       {ai::BaselineKind::black, ai::BaselineKind::white, ai::BaselineKind::blur, ai::BaselineKind::random}) {
    EXPECT_EQ(ai::parse_baseline(ai::baseline_name(kind)), kind);
  }
  const auto unknown = error_text([] { ai::parse_baseline("grey"); });
  EXPECT_TRUE(contains(unknown, "black, white, blur, random")) << unknown;
  const auto channels = error_text([] { ai::make_baseline(ai::BaselineKind::black, torch::zeros({1, 1, 4, 4})); });
  EXPECT_TRUE(contains(channels, "1 channels but mean has 3 values")) << channels;
  EXPECT_THROW(ai::make_baseline(ai::BaselineKind::black, torch::zeros({3, 4, 4})), autotimm::ConfigError);
  EXPECT_THROW(ai::make_baseline(ai::BaselineKind::blur, torch::zeros({1, 3, 4, 4}), {.blur_sigma = -1.0}),
               autotimm::ConfigError);
}

// ---- Deletion and insertion -----------------------------------------------------------------------------------------

// Score = the sum of channel 0 over the top-left 2 × 2 pixels of a 4 × 4 image: 4 for an image of ones, 0 once those
// four pixels are baseline zeros. Records whether gradients were on.
struct RegionScore {
  bool saw_grad = false;
  std::vector<std::int64_t> batch_sizes = {};
  ai::ScoreFunction function() {
    return [this](const at::Tensor& images) {
      saw_grad = saw_grad || torch::GradMode::is_enabled();
      batch_sizes.push_back(images.size(0));
      return images.select(1, 0).narrow(1, 0, 2).narrow(2, 0, 2).sum({1, 2});
    };
  }
};

void expect_curve(const ai::PerturbationCurve& curve, const std::vector<double>& scores, double auc) {
  ASSERT_EQ(curve.scores.size(), scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) EXPECT_NEAR(curve.scores[i], scores[i], 1e-6) << "point " << i;
  EXPECT_NEAR(curve.auc, auc, 1e-9);
}

TEST(PerturbationCurves, PerfectAndReversedHeatmapsGiveTheKnownCurves) {
  const auto image = torch::ones({3, 4, 4});
  const auto baseline = torch::zeros({3, 4, 4});
  auto perfect = torch::zeros({4, 4});
  perfect.narrow(0, 0, 2).narrow(1, 0, 2).fill_(1.0F);
  perfect += torch::arange(16).reshape({4, 4}).to(torch::kFloat) * 0.01F;  // no ties
  const auto reversed = -perfect;
  RegionScore region;
  const ai::PerturbationOptions options{.steps = 4, .batch_size = 2};

  // 16 pixels in 4 steps: 4 per step. Deleting the region first drops the score to 0 at once: area 0.5 × 4 × 0.25.
  const auto deletion = ai::deletion_curve(region.function(), image, perfect, baseline, options);
  EXPECT_EQ(deletion.fractions, (std::vector<double>{0.0, 0.25, 0.5, 0.75, 1.0}));
  expect_curve(deletion, {4, 0, 0, 0, 0}, 0.5);
  expect_curve(ai::deletion_curve(region.function(), image, reversed, baseline, options), {4, 4, 4, 4, 0}, 3.5);
  expect_curve(ai::insertion_curve(region.function(), image, perfect, baseline, options), {0, 4, 4, 4, 4}, 3.5);
  expect_curve(ai::insertion_curve(region.function(), image, reversed, baseline, options), {0, 0, 0, 0, 4}, 0.5);
  EXPECT_FALSE(region.saw_grad);
  // 5 images a curve, 2 a batch: 2, 2, 1.
  EXPECT_EQ(std::vector<std::int64_t>(region.batch_sizes.begin(), region.batch_sizes.begin() + 3),
            (std::vector<std::int64_t>{2, 2, 1}));
  // The batch size changes nothing.
  const auto one_by_one =
      ai::deletion_curve(region.function(), image, perfect, baseline, {.steps = 4, .batch_size = 1});
  EXPECT_EQ(one_by_one.scores, deletion.scores);
}

TEST(PerturbationCurves, ALowResolutionHeatmapIsResizedAndTiesGoInRowMajorOrder) {
  const auto image = torch::ones({3, 4, 4});
  const auto baseline = torch::zeros({3, 4, 4});
  RegionScore region;
  // [[1, 0], [0, 0]] resized to 4 × 4 ranks the top-left 2 × 2 pixels first (1, .75, .75, .5625 vs at most .25).
  expect_curve(ai::deletion_curve(region.function(), image, torch::tensor({{1.0F, 0.0F}, {0.0F, 0.0F}}), baseline,
                                  {.steps = 4}),
               {4, 0, 0, 0, 0}, 0.5);
  // A constant heatmap deletes row by row: the first row holds 2 of the region's pixels, the second the other 2.
  expect_curve(ai::deletion_curve(region.function(), image, torch::zeros({4, 4}), baseline, {.steps = 4}),
               {4, 2, 0, 0, 0}, 0.25 * (3 + 1));
  // Steps that do not divide the pixels: round(k · 16 / 3) = 0, 5, 11, 16 pixels.
  const auto thirds = ai::deletion_curve(region.function(), image, torch::zeros({4, 4}), baseline, {.steps = 3});
  EXPECT_EQ(thirds.fractions, (std::vector<double>{0.0, 5.0 / 16.0, 11.0 / 16.0, 1.0}));
  expect_curve(thirds, {4, 1, 0, 0}, 0.5 * (4 + 1) * 5.0 / 16.0 + 0.5 * 1 * 6.0 / 16.0);
}

TEST(PerturbationCurves, BadInputIsRefused) {
  RegionScore region;
  const auto image = torch::ones({3, 4, 4});
  const auto mismatch =
      error_text([&] { ai::deletion_curve(region.function(), image, torch::zeros({4, 4}), torch::zeros({3, 4, 5})); });
  EXPECT_TRUE(contains(mismatch, "deletion_curve: the baseline must have the image's shape [3, 4, 4]")) << mismatch;
  EXPECT_THROW(ai::insertion_curve(region.function(), image.unsqueeze(0), torch::zeros({4, 4}), image.unsqueeze(0)),
               autotimm::ConfigError);
  EXPECT_THROW(ai::deletion_curve(region.function(), image, torch::zeros({4, 4}), image, {.steps = 0}),
               autotimm::ConfigError);
  const ai::ScoreFunction pooled = [](const at::Tensor& images) { return images.sum(); };
  const auto wrong = error_text([&] { ai::deletion_curve(pooled, image, torch::zeros({4, 4}), image, {.steps = 2}); });
  EXPECT_TRUE(contains(wrong, "one score per image")) << wrong;
}

// ---- Pointing game --------------------------------------------------------------------------------------------------

at::Tensor peak_at(std::int64_t height, std::int64_t width, std::int64_t y, std::int64_t x) {
  auto heatmap = torch::rand({height, width}) * 0.5;
  heatmap[y][x] = 1.0;
  return heatmap;
}

TEST(PointingGame, HitsMissesAndTolerance) {
  const auto heatmap = peak_at(8, 8, 2, 5);
  auto on = torch::zeros({8, 8}, torch::kBool);
  on[2][5] = true;
  EXPECT_TRUE(ai::pointing_game_hit(heatmap, on, 0));
  // A target at rows 6-7, columns 1-2: the nearest pixel (6, 2) is 5 away from the peak (2, 5) (dy 4, dx 3).
  auto away = torch::zeros({8, 8});
  away.narrow(0, 6, 2).narrow(1, 1, 2).fill_(1.0F);
  EXPECT_FALSE(ai::pointing_game_hit(heatmap, away, 0));
  EXPECT_FALSE(ai::pointing_game_hit(heatmap, away, 4));
  EXPECT_TRUE(ai::pointing_game_hit(heatmap, away, 5));
  EXPECT_FALSE(ai::pointing_game_hit(heatmap, torch::zeros({8, 8}), 100));  // no target: a miss
  // A 4 × 4 heatmap peaking at (1, 2) resized to 8 × 8 peaks first at (2, 4) (rows 2-3 and columns 4-5 tie).
  auto coarse = torch::zeros({4, 4});
  coarse[1][2] = 1.0F;
  auto pixel = torch::zeros({8, 8});
  pixel[2][4] = 1.0F;
  EXPECT_TRUE(ai::pointing_game_hit(coarse, pixel, 0));
  auto corner = torch::zeros({8, 8});
  corner[7][7] = 1.0F;
  EXPECT_FALSE(ai::pointing_game_hit(coarse, corner, 0));
  EXPECT_THROW(ai::pointing_game_hit(heatmap, on, -1), autotimm::ConfigError);
  EXPECT_THROW(ai::pointing_game_hit(heatmap, torch::zeros({1, 8, 8}), 0), autotimm::ConfigError);
}

TEST(PointingGame, BoxesUseThePeakPixelsCentre) {
  const auto heatmap = peak_at(8, 8, 2, 5);  // centre (5.5, 2.5)
  EXPECT_TRUE(ai::pointing_game_hit(heatmap, {4.2, 1.6, 6.0, 3.0}, 8, 8, 0));
  EXPECT_FALSE(ai::pointing_game_hit(heatmap, {0.0, 0.0, 3.0, 3.0}, 8, 8, 2));  // 2.5 to the right of the box
  EXPECT_TRUE(ai::pointing_game_hit(heatmap, {0.0, 0.0, 3.0, 3.0}, 8, 8, 3));
  // Diagonally off the box's corner (3, 4): dx 2.5, dy 1.5, sqrt(8.5) ≈ 2.92 away.
  EXPECT_FALSE(ai::pointing_game_hit(heatmap, {0.0, 4.0, 3.0, 8.0}, 8, 8, 2));
  EXPECT_TRUE(ai::pointing_game_hit(heatmap, {0.0, 4.0, 3.0, 8.0}, 8, 8, 3));
}

TEST(PointingGame, BoxesInALargerImageResizeTheHeatmap) {
  // Peak (2, 5) of an 8 × 8 map resized to 16 × 16: rows 4-5 and columns 10-11 tie, the first is (y 4, x 10).
  auto heatmap = torch::zeros({8, 8});
  heatmap[2][5] = 1.0F;
  EXPECT_TRUE(ai::pointing_game_hit(heatmap, {10.0, 4.0, 11.0, 5.0}, 16, 16, 0));
  EXPECT_FALSE(ai::pointing_game_hit(heatmap, {11.0, 4.0, 12.0, 5.0}, 16, 16, 0));
  EXPECT_THROW(ai::pointing_game_hit(heatmap, {3.0, 0.0, 1.0, 1.0}, 16, 16, 0), autotimm::ConfigError);
}

// ---- Attention Rollout ----------------------------------------------------------------------------------------------

std::shared_ptr<autotimm::Backbone> tiny_vit(boost::json::object args = {}) {
  torch::manual_seed(3);
  args["img_size"] = 32;
  args["patch_size"] = 8;
  if (!args.contains("depth")) args["depth"] = 3;
  return autotimm::create_backbone("vit_tiny_patch16_224", {.num_classes = 0, .model_args = std::move(args)});
}

// PyTorch's bilinear resize (align_corners false) of one map, written out: output i reads source
// max(0, (i + 0.5) · in / out - 0.5) between its floor and the next row or column.
std::vector<double> bilinear(const std::vector<double>& map, std::int64_t in_h, std::int64_t in_w, std::int64_t out_h,
                             std::int64_t out_w) {
  auto source = [](std::int64_t i, std::int64_t in, std::int64_t out) {
    const double s = std::max(0.0, (static_cast<double>(i) + 0.5) * static_cast<double>(in) /
                                       static_cast<double>(out) - 0.5);
    const auto low = static_cast<std::int64_t>(s);
    return std::tuple{low, std::min(low + 1, in - 1), s - static_cast<double>(low)};
  };
  std::vector<double> out(static_cast<std::size_t>(out_h * out_w));
  for (std::int64_t y = 0; y < out_h; ++y) {
    const auto [y0, y1, fy] = source(y, in_h, out_h);
    for (std::int64_t x = 0; x < out_w; ++x) {
      const auto [x0, x1, fx] = source(x, in_w, out_w);
      auto at = [&](std::int64_t r, std::int64_t c) { return map[static_cast<std::size_t>(r * in_w + c)]; };
      out[static_cast<std::size_t>(y * out_w + x)] = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) +
                                                     fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
    }
  }
  return out;
}

struct Expected {
  std::string fusion = "mean";
  double discard_ratio = 0.0;
  std::int64_t prefix = 1;
  bool class_token = true;
};

// Rollout recomputed with plain loops in double precision from the weights AttentionCapture records.
at::Tensor rollout_by_hand(autotimm::Backbone& vit, const at::Tensor& images, const Expected& how) {
  std::vector<at::Tensor> weights;
  {
    torch::NoGradGuard no_grad;
    autotimm::layers::AttentionCapture capture;
    vit.eval();
    vit.forward_features(images);
    weights = capture.weights();
  }
  const std::int64_t n = images.size(0);
  const std::int64_t tokens = weights.front().size(-1);
  const std::int64_t grid = 4;
  auto result = torch::zeros({n, 32, 32}, torch::kDouble);
  for (std::int64_t b = 0; b < n; ++b) {
    std::vector<double> rollout;  // tokens × tokens, row-major
    for (const auto& block : weights) {
      const auto w = block[b].to(torch::kDouble).contiguous();  // [heads, L, L]
      const std::int64_t heads = w.size(0);
      std::vector<double> a(static_cast<std::size_t>(tokens * tokens));
      for (std::int64_t i = 0; i < tokens * tokens; ++i) {
        double fused = how.fusion == "mean" ? 0.0 : w.view({heads, -1})[0][i].item<double>();
        for (std::int64_t h = 0; h < heads; ++h) {
          const double v = w.view({heads, -1})[h][i].item<double>();
          if (how.fusion == "mean") fused += v / static_cast<double>(heads);
          if (how.fusion == "max") fused = std::max(fused, v);
          if (how.fusion == "min") fused = std::min(fused, v);
        }
        a[static_cast<std::size_t>(i)] = fused;
      }
      if (how.discard_ratio > 0) {
        std::vector<double> sorted = a;
        std::sort(sorted.begin(), sorted.end());
        const auto count = static_cast<std::size_t>(how.discard_ratio * static_cast<double>(a.size()));
        const double threshold = sorted[count - 1];  // random weights: no ties
        for (std::size_t i = 0; i < a.size(); ++i) {
          if (a[i] <= threshold && !(how.class_token && i == 0)) a[i] = 0.0;
        }
      }
      for (std::int64_t i = 0; i < tokens; ++i) {
        double row = 0.0;
        for (std::int64_t j = 0; j < tokens; ++j) {
          auto& v = a[static_cast<std::size_t>(i * tokens + j)];
          v += i == j ? 1.0 : 0.0;
          row += v;
        }
        for (std::int64_t j = 0; j < tokens; ++j) a[static_cast<std::size_t>(i * tokens + j)] /= row;
      }
      if (rollout.empty()) {
        rollout = a;
        continue;
      }
      std::vector<double> product(a.size(), 0.0);  // a · rollout
      for (std::int64_t i = 0; i < tokens; ++i) {
        for (std::int64_t k = 0; k < tokens; ++k) {
          for (std::int64_t j = 0; j < tokens; ++j) {
            product[static_cast<std::size_t>(i * tokens + j)] +=
                a[static_cast<std::size_t>(i * tokens + k)] * rollout[static_cast<std::size_t>(k * tokens + j)];
          }
        }
      }
      rollout = product;
    }
    std::vector<double> patches(static_cast<std::size_t>(grid * grid), 0.0);
    for (std::int64_t p = 0; p < grid * grid; ++p) {
      const std::int64_t column = how.prefix + p;
      if (how.class_token) {
        patches[static_cast<std::size_t>(p)] = rollout[static_cast<std::size_t>(column)];
      } else {
        for (std::int64_t row = how.prefix; row < tokens; ++row) {
          patches[static_cast<std::size_t>(p)] +=
              rollout[static_cast<std::size_t>(row * tokens + column)] / static_cast<double>(tokens - how.prefix);
        }
      }
    }
    const auto full = bilinear(patches, grid, grid, 32, 32);
    const double low = *std::min_element(full.begin(), full.end());
    const double high = *std::max_element(full.begin(), full.end());
    for (std::int64_t i = 0; i < 32 * 32; ++i) {
      result[b][i / 32][i % 32] = (full[static_cast<std::size_t>(i)] - low) / (high - low);
    }
  }
  return result;
}

TEST(AttentionRollout, MatchesAnIndependentComputationFromTheCapturedWeights) {
  const auto vit = tiny_vit();
  vit->train();  // the rollout runs in eval mode and restores the mode
  const auto images = torch::randn({2, 3, 32, 32});
  const auto maps = ai::attention_rollout(*vit, images);
  EXPECT_TRUE(vit->is_training());
  ASSERT_EQ(maps.sizes(), torch::IntArrayRef({2, 32, 32}));
  EXPECT_NEAR(maps.min().item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(maps.max().item<double>(), 1.0, 1e-6);
  const auto expected = rollout_by_hand(*vit, images, {});
  EXPECT_TRUE(torch::allclose(maps.to(torch::kDouble), expected, 1e-4, 1e-4))
      << (maps.to(torch::kDouble) - expected).abs().max().item<double>();
  EXPECT_FALSE(torch::allclose(maps[0], maps[1], 1e-3, 1e-3));  // each image its own map
}

TEST(AttentionRollout, HeadFusionAndDiscardRatioFollowThePaperAndTheOptions) {
  const auto vit = tiny_vit();
  const auto images = torch::randn({1, 3, 32, 32});
  const auto max_discard = ai::attention_rollout(*vit, images, {.head_fusion = "max", .discard_ratio = 0.5});
  EXPECT_TRUE(torch::allclose(max_discard.to(torch::kDouble),
                              rollout_by_hand(*vit, images, {.fusion = "max", .discard_ratio = 0.5}), 1e-4, 1e-4));
  const auto min = ai::attention_rollout(*vit, images, {.head_fusion = "min"});
  EXPECT_TRUE(torch::allclose(min.to(torch::kDouble), rollout_by_hand(*vit, images, {.fusion = "min"}), 1e-4, 1e-4));
  EXPECT_FALSE(torch::allclose(min, max_discard, 1e-3, 1e-3));
}

TEST(AttentionRollout, RegisterTokensAndModelsWithoutAClassToken) {
  // Two register tokens after the class token: the patch grid starts at token 3.
  const auto registers = tiny_vit({{"reg_tokens", 2}, {"depth", 2}});
  const auto images = torch::randn({1, 3, 32, 32});
  EXPECT_TRUE(torch::allclose(ai::attention_rollout(*registers, images).to(torch::kDouble),
                              rollout_by_hand(*registers, images, {.prefix = 3}), 1e-4, 1e-4));
  // No class token (average pooling): the mean of the patch tokens' rows.
  const auto gap = tiny_vit({{"class_token", false}, {"global_pool", "avg"}, {"depth", 2}});
  EXPECT_TRUE(torch::allclose(ai::attention_rollout(*gap, images).to(torch::kDouble),
                              rollout_by_hand(*gap, images, {.prefix = 0, .class_token = false}), 1e-4, 1e-4));
}

TEST(AttentionRollout, AnInputPaddedToWholePatchesGivesAMapOfTheInputsSize) {
  // 30 × 44 pixels, patches of 8: padded to a 4 × 6 grid (32 × 48), the map cut back to 30 × 44.
  const auto vit = tiny_vit({{"dynamic_img_size", true}, {"dynamic_img_pad", true}, {"depth", 2}});
  const auto maps = ai::attention_rollout(*vit, torch::randn({2, 3, 30, 44}));
  ASSERT_EQ(maps.sizes(), torch::IntArrayRef({2, 30, 44}));
  EXPECT_NEAR(maps.min().item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(maps.max().item<double>(), 1.0, 1e-6);
}

TEST(AttentionRollout, ACnnOrAnUnknownOptionIsRefused) {
  const auto resnet = autotimm::create_backbone("resnet18", {.num_classes = 0});
  const auto images = torch::randn({1, 3, 32, 32});
  const auto message = error_text([&] { ai::attention_rollout(*resnet, images); });
  EXPECT_TRUE(contains(message, "'resnet18'")) << message;
  EXPECT_TRUE(contains(message, "no attention blocks")) << message;
  const auto vit = tiny_vit({{"depth", 1}});
  const auto fusion = error_text([&] { ai::attention_rollout(*vit, images, {.head_fusion = "median"}); });
  EXPECT_TRUE(contains(fusion, "head_fusion 'median' is unknown; expected mean, max or min")) << fusion;
  EXPECT_THROW(ai::attention_rollout(*vit, images, {.discard_ratio = 1.0}), autotimm::ConfigError);
}

}  // namespace
