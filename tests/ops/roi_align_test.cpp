// RoIAlign against a brute-force reference written from the definition (scalar double loops), hand values on a linear
// ramp (bilinear sampling of a linear function is exact), the ATen path against the CPU kernel (values and gradients),
// the gradient against finite differences, FPN levels by hand, and the multi-level pooling against per-level calls.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "autotimm/error.hpp"
#include "autotimm/ops/roi_align.hpp"
#include "support/error_text.hpp"

namespace autotimm::ops {
namespace {

using autotimm::testing::error_text;

torch::Tensor rows_of(std::vector<std::vector<double>> rows, std::int64_t columns) {
  std::vector<double> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat, torch::kDouble).view({static_cast<std::int64_t>(rows.size()), columns});
}

// Value of `plane` (H × W, row-major) at (y, x) by RoIAlign's rule: 0 outside [−1, H] × [−1, W], else clamped into
// the map and interpolated between the four neighbours.
double sample_at(const double* plane, std::int64_t h, std::int64_t w, double y, double x) {
  if (y < -1 || y > static_cast<double>(h) || x < -1 || x > static_cast<double>(w)) return 0;
  y = std::clamp(y, 0.0, static_cast<double>(h - 1));
  x = std::clamp(x, 0.0, static_cast<double>(w - 1));
  const auto y0 = static_cast<std::int64_t>(std::floor(y)), x0 = static_cast<std::int64_t>(std::floor(x));
  const auto y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
  const double ly = y - static_cast<double>(y0), lx = x - static_cast<double>(x0);
  return (1 - ly) * (1 - lx) * plane[y0 * w + x0] + (1 - ly) * lx * plane[y0 * w + x1] +
         ly * (1 - lx) * plane[y1 * w + x0] + ly * lx * plane[y1 * w + x1];
}

// RoIAlign from its definition, one output value at a time.
torch::Tensor brute_force_roi_align(const torch::Tensor& input, const torch::Tensor& rois, std::int64_t ph_count,
                                    std::int64_t pw_count, double scale, std::int64_t ratio, bool aligned) {
  const auto in = input.to(torch::kDouble).contiguous();
  const auto r = rois.to(torch::kDouble).contiguous();
  const auto c_count = in.size(1), h = in.size(2), w = in.size(3);
  auto out = torch::zeros({r.size(0), c_count, ph_count, pw_count}, torch::kDouble);
  auto o = out.accessor<double, 4>();
  const auto roi = r.accessor<double, 2>();
  for (std::int64_t k = 0; k < r.size(0); ++k) {
    const double shift = aligned ? 0.5 : 0.0;
    const double x1 = roi[k][1] * scale - shift, y1 = roi[k][2] * scale - shift;
    double width = roi[k][3] * scale - shift - x1, height = roi[k][4] * scale - shift - y1;
    if (!aligned) width = std::max(width, 1.0), height = std::max(height, 1.0);
    const double bin_h = height / static_cast<double>(ph_count), bin_w = width / static_cast<double>(pw_count);
    const auto gh = ratio > 0 ? ratio : static_cast<std::int64_t>(std::max(0.0, std::ceil(bin_h)));
    const auto gw = ratio > 0 ? ratio : static_cast<std::int64_t>(std::max(0.0, std::ceil(bin_w)));
    for (std::int64_t c = 0; c < c_count; ++c) {
      const double* plane = in.data_ptr<double>() + (static_cast<std::int64_t>(roi[k][0]) * c_count + c) * h * w;
      for (std::int64_t ph = 0; ph < ph_count; ++ph) {
        for (std::int64_t pw = 0; pw < pw_count; ++pw) {
          double sum = 0;
          for (std::int64_t iy = 0; iy < gh; ++iy) {
            for (std::int64_t ix = 0; ix < gw; ++ix) {
              const double y = y1 + static_cast<double>(ph) * bin_h + (static_cast<double>(iy) + 0.5) * bin_h / gh;
              const double x = x1 + static_cast<double>(pw) * bin_w + (static_cast<double>(ix) + 0.5) * bin_w / gw;
              sum += sample_at(plane, h, w, y, x);
            }
          }
          o[k][c][ph][pw] = gh * gw > 0 ? sum / static_cast<double>(gh * gw) : 0.0;
        }
      }
    }
  }
  return out;
}

// Rois of every kind: inside, partly and wholly outside, tiny, flipped, degenerate, over two images.
torch::Tensor mixed_rois() {
  return rows_of({{0, 1.0, 1.5, 6.0, 5.0},
                  {1, -3.0, -2.0, 4.5, 3.0},
                  {1, 5.0, 4.0, 12.0, 9.5},
                  {0, 2.2, 3.1, 2.5, 3.3},
                  {1, 6.0, 5.0, 3.0, 2.0},
                  {0, 3.0, 3.0, 3.0, 3.0},
                  {1, 20.0, 20.0, 30.0, 25.0},
                  {0, 0.0, 0.0, 9.0, 7.0},
                  {1, 8.7, 0.2, 9.1, 6.9}},
                 5);
}

struct Config {
  std::int64_t ph, pw;
  double scale;
  std::int64_t ratio;
  bool aligned;
};

std::vector<Config> configs() {
  return {{2, 2, 1.0, 2, true},  {2, 2, 1.0, 2, false}, {3, 2, 1.0, 0, true},  {3, 2, 1.0, 0, false},
          {2, 3, 0.5, 0, true},  {1, 1, 0.5, 3, false}, {4, 4, 2.0, 1, true},  {4, 3, 2.0, 0, false}};
}

std::string describe(const Config& c) {
  return std::to_string(c.ph) + "x" + std::to_string(c.pw) + " scale " + std::to_string(c.scale) + " ratio " +
         std::to_string(c.ratio) + (c.aligned ? " aligned" : " legacy");
}

TEST(RoiAlign, MatchesBruteForceReference) {
  torch::manual_seed(3);
  const auto input = torch::randn({2, 3, 7, 9}, torch::kDouble);
  const auto rois = mixed_rois();
  for (const auto& c : configs()) {
    SCOPED_TRACE(describe(c));
    const auto expected = brute_force_roi_align(input, rois, c.ph, c.pw, c.scale, c.ratio, c.aligned);
    const auto got = roi_align(input, rois, c.ph, c.pw, c.scale, c.ratio, c.aligned);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_TRUE(torch::allclose(got, expected, 1e-12, 1e-12)) << (got - expected).abs().max().item<double>();
    // float features (rois converted to float with them) agree to float precision
    const auto got_float = roi_align(input.to(torch::kFloat), rois.to(torch::kFloat), c.ph, c.pw, c.scale, c.ratio,
                                     c.aligned);
    EXPECT_EQ(got_float.scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::allclose(got_float.to(torch::kDouble), expected, 1e-5, 1e-5));
  }
  // The wholly outside roi pools to 0; the others see the map.
  const auto out = roi_align(input, rois, 2, 2, 1.0, 2, true);
  EXPECT_EQ(out[6].abs().max().item<double>(), 0.0);
  EXPECT_GT(out[0].abs().max().item<double>(), 0.0);
}

TEST(RoiAlign, HandValuesOnALinearRamp) {
  // v(y, x) = x + 10 y on a 4 × 4 map: inside the map a bilinear sample is exact, so a bin is the value at the mean
  // sample position, and clamped or dropped samples are easy to follow.
  const auto ramp = (torch::arange(4, torch::kDouble).view({1, 4}) + 10 * torch::arange(4, torch::kDouble).view({4, 1}))
                        .view({1, 1, 4, 4});
  const auto pool = [&](std::vector<double> box, std::int64_t size, std::int64_t ratio, bool aligned) {
    return roi_align(ramp, rows_of({{0, box[0], box[1], box[2], box[3]}}, 5), size, size, 1.0, ratio, aligned)[0][0];
  };
  // aligned: the box (1, 1)–(3, 3) is (0.5, 0.5)–(2.5, 2.5) on the map; bins of 1, mean sample at 1 and 2
  EXPECT_TRUE(torch::allclose(pool({1, 1, 3, 3}, 2, 2, true), rows_of({{11, 12}, {21, 22}}, 2)));
  // legacy: (1, 1)–(3, 3); mean samples at 1.5 and 2.5
  EXPECT_TRUE(torch::allclose(pool({1, 1, 3, 3}, 2, 2, false), rows_of({{16.5, 17.5}, {26.5, 27.5}}, 2)));
  // adaptive: ceil(4 / 2) = 2 samples per side, the same as ratio 2: samples 0.5, 1.5 (mean 1) and 2.5, 3.5, the
  // last clamped to 3 (mean 2.75)
  EXPECT_TRUE(torch::allclose(pool({0, 0, 4, 4}, 2, 0, false), rows_of({{11, 12.75}, {28.5, 30.25}}, 2)));
  EXPECT_TRUE(torch::allclose(pool({0, 0, 4, 4}, 2, 0, false), pool({0, 0, 4, 4}, 2, 2, false)));
  // clamped: x samples 2.5 and 3.5, the second clamped to the last column 3: mean x 2.75, mean y 2
  EXPECT_NEAR(pool({2, 0, 4, 4}, 1, 2, false).item<double>(), 22.75, 1e-12);
  // half outside: x 3.5 (clamped to 3) and 4.5 (beyond W = 4: counts 0); y 0.5 and 1.5 → (8 + 18 + 0 + 0) / 4
  EXPECT_NEAR(pool({3, 0, 5, 2}, 1, 2, false).item<double>(), 6.5, 1e-12);
  // wholly outside: 0
  EXPECT_EQ(pool({4.5, 0, 6, 2}, 1, 2, false).item<double>(), 0.0);
  // between −1 and 0 a sample is clamped to row / column 0, not dropped: samples at −0.75, −0.25 → x 0, y 0
  EXPECT_NEAR(pool({-0.5, -0.5, 0.5, 0.5}, 1, 2, true).item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(pool({-0.5, 1, 0.5, 2}, 1, 2, true).item<double>(), 10.0, 1e-12);
  // a degenerate box: legacy forces 1 × 1 (one sample at (2.5, 2.5)), aligned has none (0)
  EXPECT_NEAR(pool({2, 2, 2, 2}, 1, 0, false).item<double>(), 27.5, 1e-12);
  EXPECT_EQ(pool({2, 2, 2, 2}, 1, 0, true).item<double>(), 0.0);
  // spatial scale: the image box (2, 2)–(6, 6) at scale 0.5 is (1, 1)–(3, 3) on the map
  EXPECT_TRUE(torch::allclose(
      roi_align(ramp, rows_of({{0, 2, 2, 6, 6}}, 5), 2, 2, 0.5, 2, false)[0][0], rows_of({{16.5, 17.5}, {26.5, 27.5}}, 2)));
}

TEST(RoiAlign, ReferencePathEqualsCpuKernel) {
  torch::manual_seed(5);
  const auto input = torch::randn({2, 3, 7, 9}, torch::kDouble);
  const auto rois = mixed_rois();
  for (const auto& c : configs()) {
    SCOPED_TRACE(describe(c));
    const auto kernel = roi_align(input, rois, c.ph, c.pw, c.scale, c.ratio, c.aligned);
    const auto reference = roi_align_reference(input, rois, c.ph, c.pw, c.scale, c.ratio, c.aligned);
    ASSERT_EQ(reference.sizes(), kernel.sizes());
    EXPECT_TRUE(torch::allclose(reference, kernel, 1e-10, 1e-10)) << (reference - kernel).abs().max().item<double>();
    const auto f = input.to(torch::kFloat);
    EXPECT_TRUE(torch::allclose(roi_align_reference(f, rois, c.ph, c.pw, c.scale, c.ratio, c.aligned),
                                roi_align(f, rois, c.ph, c.pw, c.scale, c.ratio, c.aligned), 1e-4, 1e-4));
  }
  // rois of one image only, and none
  EXPECT_TRUE(torch::allclose(roi_align_reference(input, rois.slice(0, 1, 3), 2, 2, 1.0, 0, true),
                              roi_align(input, rois.slice(0, 1, 3), 2, 2, 1.0, 0, true), 1e-10, 1e-10));
  EXPECT_EQ(roi_align_reference(input, torch::zeros({0, 5}, torch::kDouble), 2, 3, 1.0, 0, true).sizes(),
            torch::IntArrayRef({0, 3, 2, 3}));
  EXPECT_EQ(roi_align(input, torch::zeros({0, 5}, torch::kDouble), 2, 3, 1.0, 0, true).sizes(),
            torch::IntArrayRef({0, 3, 2, 3}));
}

TEST(RoiAlign, GradientEqualsAutogradThroughReferencePath) {
  torch::manual_seed(7);
  const auto base = torch::randn({2, 3, 7, 9}, torch::kDouble);
  const auto rois = mixed_rois();
  for (const auto& c : configs()) {
    SCOPED_TRACE(describe(c));
    const auto weights = torch::randn({rois.size(0), 3, c.ph, c.pw}, torch::kDouble);
    auto a = base.clone().requires_grad_(true);
    auto b = base.clone().requires_grad_(true);
    const auto ga = torch::autograd::grad({(roi_align(a, rois, c.ph, c.pw, c.scale, c.ratio, c.aligned) * weights).sum()},
                                          {a})[0];
    const auto gb =
        torch::autograd::grad({(roi_align_reference(b, rois, c.ph, c.pw, c.scale, c.ratio, c.aligned) * weights).sum()},
                              {b})[0];
    EXPECT_TRUE(torch::allclose(ga, gb, 1e-10, 1e-10)) << (ga - gb).abs().max().item<double>();
    EXPECT_GT(ga.abs().sum().item<double>(), 0.0);
  }
  // float gradients too
  auto f = base.to(torch::kFloat).requires_grad_(true);
  roi_align(f, rois, 3, 3, 1.0, 0, true).sum().backward();
  auto g = base.to(torch::kFloat).requires_grad_(true);
  roi_align_reference(g, rois, 3, 3, 1.0, 0, true).sum().backward();
  EXPECT_TRUE(torch::allclose(f.grad(), g.grad(), 1e-4, 1e-4));
}

TEST(RoiAlign, GradientEqualsFiniteDifferences) {
  torch::manual_seed(11);
  const auto input = torch::randn({2, 2, 5, 6}, torch::kDouble);
  const auto rois = rows_of({{0, 0.5, 1.0, 4.5, 4.0}, {1, -1.5, 2.0, 3.0, 7.0}, {1, 1.0, 1.0, 2.2, 1.9}}, 5);
  for (const bool aligned : {true, false}) {
    SCOPED_TRACE(aligned ? "aligned" : "legacy");
    const auto weights = torch::randn({3, 2, 3, 3}, torch::kDouble);
    const auto loss = [&](const torch::Tensor& x) { return (roi_align(x, rois, 3, 3, 1.0, 0, aligned) * weights).sum(); };
    auto x = input.clone().requires_grad_(true);
    const auto grad = torch::autograd::grad({loss(x)}, {x})[0].contiguous();
    const double h = 1e-4;
    auto flat = input.clone().contiguous();
    for (std::int64_t i = 0; i < flat.numel(); ++i) {
      auto up = flat.clone(), down = flat.clone();
      up.view(-1)[i] += h;
      down.view(-1)[i] -= h;
      const double numeric = (loss(up).item<double>() - loss(down).item<double>()) / (2 * h);
      EXPECT_NEAR(grad.view(-1)[i].item<double>(), numeric, 1e-7) << "element " << i;
    }
  }
}

TEST(RoiAlign, GarbageRoisFinishAndAgree) {
  // NaN and infinite rois pool to 0; a huge roi's adaptive grid is capped (1024 per side) instead of running for hours.
  const auto input = torch::randn({1, 2, 4, 4}, torch::kDouble);
  const double inf = std::numeric_limits<double>::infinity();
  const auto rois =
      rows_of({{0, std::nan(""), 0, 2, 2}, {0, 0, 0, inf, 2}, {0, -inf, -inf, inf, inf}, {0, 0, 0, 1e9, 1e9}}, 5);
  const auto kernel = roi_align(input, rois, 2, 2, 1.0, 0, true);
  EXPECT_EQ(kernel.slice(0, 0, 3).abs().max().item<double>(), 0.0);
  EXPECT_TRUE(torch::isfinite(kernel).all().item<bool>());
  // (the ATen path materialises every sample, 2 × 2048 × 2048 for the huge roi: compared on the others only)
  EXPECT_TRUE(torch::allclose(roi_align_reference(input, rois.slice(0, 0, 3), 2, 2, 1.0, 0, true),
                              kernel.slice(0, 0, 3), 1e-10, 1e-10));
}

TEST(RoiAlign, SameResultOnSeveralThreads) {
  // The kernels split (roi, channel) items forward and channels backward; every split must give the same numbers.
  torch::manual_seed(31);
  const auto input = torch::randn({2, 5, 7, 9}, torch::kDouble);
  const auto rois = mixed_rois();
  const auto weights = torch::randn({rois.size(0), 5, 3, 3}, torch::kDouble);
  const auto run = [&] {
    auto x = input.clone().requires_grad_(true);
    const auto out = roi_align(x, rois, 3, 3, 1.0, 0, true);
    const auto grad = torch::autograd::grad({(out * weights).sum()}, {x})[0];
    return std::make_pair(out.detach(), grad);
  };
  const auto threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto [out1, grad1] = run();
  at::set_num_threads(3);
  const auto [out3, grad3] = run();
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(out1, out3));
  EXPECT_TRUE(torch::allclose(grad1, grad3, 1e-14, 1e-14));
}

TEST(RoiAlign, RoisGetNoGradient) {
  auto input = torch::randn({1, 1, 4, 4}, torch::kDouble).requires_grad_(true);
  auto rois = rows_of({{0, 0, 0, 3, 3}}, 5).requires_grad_(true);
  const auto out = roi_align(input, rois, 2, 2, 1.0, 2, true);
  const auto grads = torch::autograd::grad({out.sum()}, {input, rois}, {}, false, false, /*allow_unused=*/true);
  EXPECT_TRUE(grads[0].defined());
  EXPECT_FALSE(grads[1].defined());
}

TEST(RoiAlign, ErrorMessages) {
  const auto input = torch::zeros({2, 1, 4, 4});
  const auto roi = rows_of({{0, 0, 0, 2, 2}}, 5).to(torch::kFloat);
  EXPECT_EQ(error_text([&] { roi_align(torch::zeros({1, 4, 4}), roi, 2, 2, 1.0, 0, true); }),
            "roi_align: 'input': expected a feature map [N, C, H, W], got [1, 4, 4]; add the batch dimension with "
            "unsqueeze(0) for a single image");
  EXPECT_EQ(error_text([&] { roi_align(torch::zeros({1, 1, 4, 4}, torch::kLong), roi, 2, 2, 1.0, 0, true); }),
            "roi_align: 'input': expected a floating-point feature map, got Long; convert it with .to(torch::kFloat)");
  EXPECT_EQ(error_text([&] { roi_align(input, torch::zeros({3, 4}), 2, 2, 1.0, 0, true); }),
            "roi_align: 'rois': expected [K, 5] rows (batch index, x1, y1, x2, y2), got [3, 4]; prepend each box's "
            "image index as column 0");
  EXPECT_EQ(error_text([&] { roi_align(input, rows_of({{0, 0, 0, 1, 1}, {2, 0, 0, 1, 1}}, 5), 2, 2, 1.0, 0, true); }),
            "roi_align: 'rois' row 1: batch index 2 is not a whole number in [0, 2); column 0 must name the "
            "image (0 .. N − 1) the box belongs to");
  EXPECT_NE(error_text([&] { roi_align(input, rows_of({{0.5, 0, 0, 1, 1}}, 5), 2, 2, 1.0, 0, true); })
                .find("batch index 0.5 is not a whole number"),
            std::string::npos);
  EXPECT_NE(error_text([&] { roi_align(input, rows_of({{-1, 0, 0, 1, 1}}, 5), 2, 2, 1.0, 0, true); })
                .find("row 0: batch index -1"),
            std::string::npos);
  EXPECT_EQ(error_text([&] { roi_align(input, roi, 0, 2, 1.0, 0, true); }),
            "roi_align: expected a positive output size, got 0 × 2; pass the pooled height and width (e.g. 14 × 14)");
  EXPECT_EQ(error_text([&] { roi_align(input, roi, 2, 2, 0.0, 0, true); }),
            "roi_align: 'spatial_scale': expected a positive finite number, got 0; pass 1 / stride of the "
            "feature map (e.g. 0.125 for stride 8)");
  EXPECT_NE(error_text([&] { roi_align(input, roi, 2, 2, std::nan(""), 0, true); }).find("'spatial_scale'"),
            std::string::npos);
  EXPECT_EQ(error_text([&] { roi_align(torch::zeros({1, 1, 4, 4}, torch::kHalf), roi, 2, 2, 1.0, 0, true); }),
            "roi_align: 'input': the CPU kernel takes float or double features, got Half; convert them with "
            ".to(torch::kFloat)");
  EXPECT_EQ(error_text([&] { roi_align_reference(input, torch::zeros({3}), 2, 2, 1.0, 0, true); }),
            "roi_align_reference: 'rois': expected [K, 5] rows (batch index, x1, y1, x2, y2), got [3]; prepend each "
            "box's image index as column 0");
}

TEST(RoiLevels, HandCases) {
  // sqrt(area) 224 → level 4, 112 → 3, 448 → 5, 56 → 2, 896 → 6 (clamped to 5), 1 px → clamped to 2;
  // a 112 × 448 box has sqrt(area) 224 → 4; empty and flipped boxes → the lowest level
  const auto boxes = rows_of({{0, 0, 224, 224},
                              {10, 10, 122, 122},
                              {0, 0, 448, 448},
                              {0, 0, 56, 56},
                              {0, 0, 896, 896},
                              {5, 5, 6, 6},
                              {0, 0, 112, 448},
                              {3, 3, 3, 3},
                              {10, 10, 0, 0},
                              {0, 0, 223, 224}},
                             4);
  const auto expected = torch::tensor({2, 1, 3, 0, 3, 0, 2, 0, 0, 1}, torch::kLong);
  EXPECT_TRUE(torch::equal(roi_levels(boxes, 2, 5), expected));
  EXPECT_TRUE(torch::equal(roi_levels(boxes.to(torch::kFloat), 2, 5), expected));
  EXPECT_EQ(roi_levels(boxes, 2, 5).scalar_type(), torch::kLong);
  // another canonical size and level: 112 px ↦ level 3 directly
  EXPECT_TRUE(torch::equal(roi_levels(rows_of({{0, 0, 112, 112}, {0, 0, 224, 224}}, 4), 3, 7, 112, 3),
                           torch::tensor({0, 1}, torch::kLong)));
  EXPECT_EQ(roi_levels(torch::zeros({0, 4}), 2, 5).numel(), 0);
  EXPECT_EQ(error_text([] { roi_levels(torch::zeros({2, 5}), 2, 5); }),
            "roi_levels: 'boxes': expected [K, 4] (x1, y1, x2, y2) in image pixels, got [2, 5]; drop the batch-index "
            "column of rois with rois.slice(1, 1)");
  EXPECT_EQ(error_text([] { roi_levels(torch::zeros({2, 4}), 5, 2); }),
            "roi_levels: expected min_level <= max_level, got 5 > 2; pass the finest and the coarsest FPN level, in "
            "that order");
  EXPECT_EQ(error_text([] { roi_levels(torch::zeros({2, 4}), 2, 5, 0); }),
            "roi_levels: 'canonical_size': expected a positive number of pixels, got 0; FPN uses 224 (the "
            "ImageNet crop)");
}

TEST(MultiScaleRoiAlign, EqualsRoiAlignOnEachRoisLevel) {
  torch::manual_seed(13);
  // An image of 512 px with levels 3, 4, 5 (strides 8, 16, 32); boxes of every size, over two images.
  const std::vector<double> strides = {8, 16, 32};
  std::vector<torch::Tensor> features;
  for (const double s : strides) {
    const auto side = static_cast<std::int64_t>(512 / s);
    features.push_back(torch::randn({2, 3, side, side}, torch::kDouble));
  }
  const auto rois = rows_of({{0, 10, 10, 40, 50},
                             {1, 100, 50, 400, 450},
                             {0, 30, 60, 200, 180},
                             {1, 0, 0, 512, 512},
                             {0, 300, 300, 302, 301},
                             {1, 200, 100, 330, 260}},
                            5);
  const auto levels = roi_levels(rois.slice(1, 1, 5), 3, 5);
  for (std::int64_t l = 0; l < 3; ++l) EXPECT_TRUE((levels == l).any().item<bool>()) << "level " << l << " unused";
  const auto pooled = multi_scale_roi_align(features, strides, rois, 7, 2, true);
  ASSERT_EQ(pooled.sizes(), torch::IntArrayRef({6, 3, 7, 7}));
  for (std::int64_t k = 0; k < rois.size(0); ++k) {
    const auto l = levels[k].item<std::int64_t>();
    const auto expected = roi_align(features[static_cast<std::size_t>(l)], rois.slice(0, k, k + 1), 7, 7,
                                    1.0 / strides[static_cast<std::size_t>(l)], 2, true);
    EXPECT_TRUE(torch::allclose(pooled[k], expected[0], 1e-12, 1e-12)) << "roi " << k;
  }
  // the levels may come in any order; the defaults are sampling ratio 2, aligned
  EXPECT_TRUE(torch::allclose(
      multi_scale_roi_align({features[2], features[0], features[1]}, {32, 8, 16}, rois, 7), pooled, 1e-12, 1e-12));
  // the gradient reaches every level's features
  std::vector<torch::Tensor> trainable;
  for (const auto& f : features) trainable.push_back(f.clone().requires_grad_(true));
  multi_scale_roi_align(trainable, strides, rois, 7).sum().backward();
  for (const auto& f : trainable) EXPECT_GT(f.grad().abs().sum().item<double>(), 0.0);
  // no rois
  EXPECT_EQ(multi_scale_roi_align(features, strides, torch::zeros({0, 5}, torch::kDouble), 7).sizes(),
            torch::IntArrayRef({0, 3, 7, 7}));
}

TEST(MultiScaleRoiAlign, ErrorMessages) {
  const auto f8 = torch::zeros({1, 2, 8, 8}), f16 = torch::zeros({1, 2, 4, 4});
  const auto rois = torch::zeros({1, 5});
  EXPECT_EQ(error_text([&] { multi_scale_roi_align({f8, f16}, {8}, rois, 7); }),
            "multi_scale_roi_align: expected one stride per feature map, got 2 feature maps and 1 strides; pass the "
            "FPN levels with their strides, e.g. {p3, p4, p5} and {8, 16, 32}");
  EXPECT_EQ(error_text([&] { multi_scale_roi_align({}, {}, rois, 7); }),
            "multi_scale_roi_align: expected one stride per feature map, got 0 feature maps and 0 strides; pass the "
            "FPN levels with their strides, e.g. {p3, p4, p5} and {8, 16, 32}");
  EXPECT_EQ(error_text([&] { multi_scale_roi_align({f8, f16}, {8, 12}, rois, 7); }),
            "multi_scale_roi_align: 'strides[1]': expected a power of two (1, 2, 4, 8, …), got 12; pass the "
            "feature map's downsampling factor");
  EXPECT_NE(error_text([&] { multi_scale_roi_align({f8}, {0.5}, rois, 7); }).find("'strides[0]'"), std::string::npos);
  EXPECT_EQ(error_text([&] { multi_scale_roi_align({f8, f8}, {8, 8}, rois, 7); }),
            "multi_scale_roi_align: stride 8 is given twice; pass each FPN level once");
  EXPECT_EQ(error_text([&] { multi_scale_roi_align({f8, f16}, {8, 32}, rois, 7); }),
            "multi_scale_roi_align: the strides skip a level (levels 3 to 5 but only 2 feature maps); pass consecutive "
            "FPN levels, e.g. strides {8, 16, 32}");
  EXPECT_EQ(error_text([&] { multi_scale_roi_align({f8, torch::zeros({1, 3, 4, 4})}, {8, 16}, rois, 7); }),
            "multi_scale_roi_align: 'features[1]' is [1, 3, 4, 4] Float on cpu, features[0] is [1, 2, 8, 8] Float on "
            "cpu; every level must share batch size, channels, dtype and device");
  EXPECT_EQ(error_text([&] { multi_scale_roi_align({f8, torch::zeros({4, 4})}, {8, 16}, rois, 7); }),
            "multi_scale_roi_align: 'input': expected a feature map [N, C, H, W], got [4, 4]; add the batch dimension "
            "with unsqueeze(0) for a single image");
  EXPECT_EQ(error_text([&] { multi_scale_roi_align({f8, f16}, {8, 16}, torch::zeros({1, 4}), 7); }),
            "multi_scale_roi_align: 'rois': expected [K, 5] rows (batch index, x1, y1, x2, y2), got [1, 4]; prepend "
            "each box's image index as column 0");
  EXPECT_EQ(error_text([&] { multi_scale_roi_align({f8, f16}, {8, 16}, rois, 0); }),
            "multi_scale_roi_align: expected a positive output size, got 0 × 0; pass the pooled height and width "
            "(e.g. 14 × 14)");
}

}  // namespace
}  // namespace autotimm::ops
