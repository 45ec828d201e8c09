// Pasting masks into the image against a per-pixel brute force, the exact pixel set of constant masks, empty and
// clipped boxes, and mask targets of a known rectangle computed by hand.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "autotimm/error.hpp"
#include "autotimm/ops/paste_masks.hpp"
#include "autotimm/ops/roi_align.hpp"
#include "support/error_text.hpp"

namespace autotimm::ops {
namespace {

using autotimm::testing::error_text;

torch::Tensor boxes_of(std::vector<std::vector<double>> rows) {
  std::vector<double> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat, torch::kDouble).view({static_cast<std::int64_t>(rows.size()), 4});
}

// Mask cell (i, j), 0 outside the mask (zero padding).
double cell(const torch::Tensor& mask, std::int64_t i, std::int64_t j) {
  if (i < 0 || j < 0 || i >= mask.size(0) || j >= mask.size(1)) return 0;
  return mask[i][j].item<double>();
}

// Every pixel from the definition: centre in the box, then the mask sampled at the centre with the cells tiling the
// box (cell centres at (i + 0.5) · cell size) and zero outside the mask.
torch::Tensor brute_force_paste(const torch::Tensor& masks, const torch::Tensor& boxes, std::int64_t height,
                                std::int64_t width, double threshold) {
  auto out = torch::zeros({masks.size(0), height, width}, torch::kBool);
  for (std::int64_t k = 0; k < masks.size(0); ++k) {
    const auto mask = masks[k].to(torch::kDouble);
    const double x1 = boxes[k][0].item<double>(), y1 = boxes[k][1].item<double>();
    const double x2 = boxes[k][2].item<double>(), y2 = boxes[k][3].item<double>();
    for (std::int64_t y = 0; y < height; ++y) {
      for (std::int64_t x = 0; x < width; ++x) {
        const double cx = x + 0.5, cy = y + 0.5;
        if (!(cx >= x1 && cx < x2 && cy >= y1 && cy < y2)) continue;
        const double u = (cx - x1) / (x2 - x1) * mask.size(1) - 0.5;  // column coordinate in cells
        const double v = (cy - y1) / (y2 - y1) * mask.size(0) - 0.5;  // row coordinate
        const auto j = static_cast<std::int64_t>(std::floor(u)), i = static_cast<std::int64_t>(std::floor(v));
        const double a = u - j, b = v - i;
        const double value = (1 - b) * ((1 - a) * cell(mask, i, j) + a * cell(mask, i, j + 1)) +
                             b * ((1 - a) * cell(mask, i + 1, j) + a * cell(mask, i + 1, j + 1));
        out[k][y][x] = value >= threshold;
      }
    }
  }
  return out;
}

// The pixels whose centres lie in the box, as a bool image.
torch::Tensor box_pixels(double x1, double y1, double x2, double y2, std::int64_t height, std::int64_t width) {
  const auto cx = torch::arange(width, torch::kDouble) + 0.5, cy = torch::arange(height, torch::kDouble) + 0.5;
  return ((cy >= y1) & (cy < y2)).view({height, 1}) & ((cx >= x1) & (cx < x2)).view({1, width});
}

TEST(PasteMasks, MatchesPerPixelBruteForce) {
  torch::manual_seed(17);
  const auto masks = torch::rand({6, 5, 4}, torch::kDouble);
  const auto boxes = boxes_of({{2.3, 1.7, 13.9, 10.2},
                               {-4.0, -3.5, 6.2, 7.0},
                               {15.5, 12.25, 30.0, 25.0},
                               {7.0, 7.0, 9.0, 8.0},
                               {0.0, 0.0, 24.0, 20.0},
                               {5.5, 2.5, 6.5, 3.5}});
  for (const double threshold : {0.5, 0.3, 0.8}) {
    SCOPED_TRACE("threshold " + std::to_string(threshold));
    const auto expected = brute_force_paste(masks, boxes, 20, 24, threshold);
    const auto got = paste_masks(masks, boxes, 20, 24, threshold);
    ASSERT_EQ(got.sizes(), torch::IntArrayRef({6, 20, 24}));
    EXPECT_EQ(got.scalar_type(), torch::kBool);
    EXPECT_TRUE(torch::equal(got, expected)) << (got != expected).sum().item<std::int64_t>() << " pixels differ";
    EXPECT_TRUE(torch::equal(paste_masks_reference(masks, boxes, 20, 24, threshold), expected));
    // float masks and boxes (values rounded to float, compared by the same rule)
    const auto fm = masks.to(torch::kFloat), fb = boxes.to(torch::kFloat);
    EXPECT_TRUE(torch::equal(paste_masks(fm, fb, 20, 24, threshold), brute_force_paste(fm, fb, 20, 24, threshold)));
  }
  // nothing outside a box is set
  const auto got = paste_masks(masks, boxes, 20, 24);
  for (std::int64_t k = 0; k < 6; ++k) {
    const auto b = boxes[k];
    const auto inside = box_pixels(b[0].item<double>(), b[1].item<double>(), b[2].item<double>(), b[3].item<double>(),
                                   20, 24);
    EXPECT_FALSE((got[k] & ~inside).any().item<bool>()) << "box " << k;
  }
}

TEST(PasteMasks, ConstantOneMaskGivesThePixelsWhoseCentresAreInTheBox) {
  // With cells no larger than a pixel and whole-pixel box edges, every in-box centre is at least half a cell from the
  // edge, where the sampled value is 1.
  const auto ones = torch::ones({4, 28, 28});
  const std::vector<std::vector<double>> rows = {{2, 3, 12, 9}, {-3, 5, 12, 40}, {0, 0, 20, 28}, {19, 27, 25, 31}};
  const auto got = paste_masks(ones, boxes_of(rows), 30, 20);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const auto& r = rows[k];
    EXPECT_TRUE(torch::equal(got[static_cast<std::int64_t>(k)], box_pixels(r[0], r[1], r[2], r[3], 30, 20)))
        << "box " << k;
  }
  EXPECT_EQ(got[0].sum().item<std::int64_t>(), 10 * 6);
  // Half-pixel edges along x: a centre on the left edge is inside (sampled value exactly 0.5), on the right edge
  // outside.
  const auto half = paste_masks(torch::ones({1, 28, 28}), boxes_of({{2.5, 1, 6.5, 4}}), 8, 8)[0];
  EXPECT_TRUE(torch::equal(half, box_pixels(2.5, 1, 6.5, 4, 8, 8)));
  EXPECT_EQ(half.sum().item<std::int64_t>(), 4 * 3);
  EXPECT_TRUE(half[1][2].item<bool>());
  EXPECT_FALSE(half[1][6].item<bool>());
}

TEST(PasteMasks, CoarseCellsRoundTheCornersOfAConstantMask) {
  // A 2 × 2 mask of ones over a 20 × 20 box: cells of 10 px. Along row 0 (centre y = 0.5, row weight 1 − 0.45 = 0.55)
  // a pixel needs a column weight >= 0.5 / 0.55, so columns 4 .. 15; rows in the middle span the whole box.
  const auto got = paste_masks(torch::ones({1, 2, 2}), boxes_of({{0, 0, 20, 20}}), 20, 20)[0];
  const auto row0 = got[0];
  for (std::int64_t x = 0; x < 20; ++x) EXPECT_EQ(row0[x].item<bool>(), x >= 4 && x <= 15) << "x " << x;
  EXPECT_EQ(got[10].sum().item<std::int64_t>(), 20);
  const auto expected = brute_force_paste(torch::ones({1, 2, 2}), boxes_of({{0, 0, 20, 20}}), 20, 20, 0.5)[0];
  EXPECT_TRUE(torch::equal(got, expected)) << torch::nonzero(got != expected);
}

TEST(PasteMasks, FlippedDegenerateAndOutsideBoxesAreEmpty) {
  const auto ones = torch::ones({7, 3, 3});
  const auto boxes = boxes_of({{5, 5, 5, 10},
                               {5, 5, 10, 5},
                               {10, 10, 5, 5},
                               {std::nan(""), 0, 5, 5},
                               {3.6, 3.6, 3.9, 3.9},  // tiny, holds no pixel centre
                               {30, 30, 40, 40},      // wholly outside the image
                               {3.4, 3.4, 3.6, 3.6}});  // tiny, holds the centre of pixel (3, 3)
  const auto got = paste_masks(ones, boxes, 12, 12);
  for (std::int64_t k = 0; k < 6; ++k) EXPECT_FALSE(got[k].any().item<bool>()) << "box " << k;
  EXPECT_EQ(got[6].sum().item<std::int64_t>(), 1);
  EXPECT_TRUE(got[6][3][3].item<bool>());
  EXPECT_TRUE(torch::equal(paste_masks_reference(ones, boxes, 12, 12), got));
  // no masks, or an empty image
  EXPECT_EQ(paste_masks(torch::zeros({0, 28, 28}), torch::zeros({0, 4}), 5, 6).sizes(), torch::IntArrayRef({0, 5, 6}));
  EXPECT_EQ(paste_masks(ones, boxes, 0, 6).sizes(), torch::IntArrayRef({7, 0, 6}));
}

TEST(PasteMasks, ClipsBoxesAtTheImageEdges) {
  torch::manual_seed(19);
  const auto masks = torch::rand({3, 7, 7}, torch::kDouble);
  const auto boxes = boxes_of({{-10, -10, 5, 5}, {8, -2, 14, 9}, {-1, 6, 15, 13}});
  const auto got = paste_masks(masks, boxes, 10, 12);
  EXPECT_TRUE(torch::equal(got, brute_force_paste(masks, boxes, 10, 12, 0.5)));
  const auto ones = paste_masks(torch::ones({3, 40, 40}), boxes, 10, 12);
  EXPECT_TRUE(torch::equal(ones[0], box_pixels(-10, -10, 5, 5, 10, 12)));
  EXPECT_EQ(ones[0].sum().item<std::int64_t>(), 25);
  EXPECT_EQ(ones[2].sum().item<std::int64_t>(), 12 * 4);
}

TEST(PasteMasks, AcceptsTheHeadsShapeAndThresholds) {
  torch::manual_seed(23);
  const auto masks = torch::rand({2, 6, 6});
  const auto boxes = boxes_of({{1, 1, 9, 7}, {3.5, 0.5, 8.5, 9}});
  EXPECT_TRUE(torch::equal(paste_masks(masks.unsqueeze(1), boxes, 10, 10), paste_masks(masks, boxes, 10, 10)));
  // threshold 0 keeps every pixel of the box, a threshold above 1 none
  const auto all = paste_masks(masks, boxes, 10, 10, 0.0);
  EXPECT_TRUE(torch::equal(all[0], box_pixels(1, 1, 9, 7, 10, 10)));
  EXPECT_FALSE(paste_masks(masks, boxes, 10, 10, 1.5).any().item<bool>());
  // rectangular masks: Mh != Mw
  const auto tall = torch::rand({2, 8, 3}, torch::kDouble);
  EXPECT_TRUE(torch::equal(paste_masks(tall, boxes, 10, 10), brute_force_paste(tall, boxes, 10, 10, 0.5)));
}

TEST(PasteMasks, ErrorMessages) {
  const auto boxes = torch::zeros({2, 4});
  EXPECT_EQ(error_text([&] { paste_masks(torch::zeros({2, 28}), boxes, 10, 10); }),
            "paste_masks: 'masks': expected [K, Mh, Mw] or [K, 1, Mh, Mw] with Mh, Mw >= 1, got [2, 28]; select each "
            "box's class channel first");
  EXPECT_EQ(error_text([&] { paste_masks(torch::zeros({2, 3, 28, 28}), boxes, 10, 10); }),
            "paste_masks: 'masks': expected [K, Mh, Mw] or [K, 1, Mh, Mw] with Mh, Mw >= 1, got [2, 3, 28, 28]; select "
            "each box's class channel first");
  EXPECT_NE(error_text([&] { paste_masks(torch::zeros({2, 0, 28}), boxes, 10, 10); }).find("got [2, 0, 28]"),
            std::string::npos);
  EXPECT_EQ(error_text([&] { paste_masks(torch::zeros({2, 28, 28}), torch::zeros({2, 5}), 10, 10); }),
            "paste_masks: 'boxes': expected [K, 4] (x1, y1, x2, y2) in image pixels, got [2, 5]; pass one box per mask");
  EXPECT_EQ(error_text([&] { paste_masks(torch::zeros({3, 28, 28}), boxes, 10, 10); }),
            "paste_masks: expected one box per mask, got 3 masks and 2 boxes; pass the boxes the masks belong to, in "
            "the same order");
  EXPECT_EQ(error_text([&] { paste_masks(torch::zeros({2, 28, 28}), boxes, -1, 10); }),
            "paste_masks: expected a non-negative image size, got -1 × 10; pass the image's height and width in pixels");
  EXPECT_EQ(error_text([&] { paste_masks(torch::zeros({2, 28, 28}), boxes, 10, 10, std::nan("")); }),
            "paste_masks: 'threshold': expected a finite number, got nan; 0.5 keeps pixels of probability at least one "
            "half");
  EXPECT_EQ(error_text([&] { paste_masks_reference(torch::zeros({3, 28, 28}), boxes, 10, 10); }),
            "paste_masks_reference: expected one box per mask, got 3 masks and 2 boxes; pass the boxes the masks "
            "belong to, in the same order");
}

TEST(MaskTargets, RectangleByHand) {
  // The object covers rows 4 .. 11 and columns 6 .. 13 of a 20 × 20 image.
  auto mask = torch::zeros({20, 20}, torch::kUInt8);
  mask.slice(0, 4, 12).slice(1, 6, 14).fill_(1);
  const auto masks = torch::stack({mask, mask, mask});
  // 1: the object's own box at 8 × 8: one sample per bin, at each pixel centre: all ones.
  // 2: a 16 × 16 box from (2, 0): bins of 2 px, samples on pixels 2 + 2j and 3 + 2j (columns), 2i and 2i + 1 (rows):
  //    bins 2 .. 5 of the columns and of the rows lie on the object.
  // 3: shifted one pixel right, (3, 0): column bins sample 3 + 2j, 4 + 2j: bins 1 and 5 are half on the object
  //    (0.5 >= 0.5 counts), so columns 1 .. 5.
  const auto boxes = boxes_of({{6, 4, 14, 12}, {2, 0, 18, 16}, {3, 0, 19, 16}});
  const auto targets = mask_targets(masks, boxes, 8);
  ASSERT_EQ(targets.sizes(), torch::IntArrayRef({3, 8, 8}));
  EXPECT_EQ(targets.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(targets[0], torch::ones({8, 8})));
  auto second = torch::zeros({8, 8});
  second.slice(0, 2, 6).slice(1, 2, 6).fill_(1);
  EXPECT_TRUE(torch::equal(targets[1], second));
  auto third = torch::zeros({8, 8});
  third.slice(0, 2, 6).slice(1, 1, 6).fill_(1);
  EXPECT_TRUE(torch::equal(targets[2], third));
  // bool and float masks give the same targets; double masks give double targets
  EXPECT_TRUE(torch::equal(mask_targets(masks.to(torch::kBool), boxes, 8), targets));
  EXPECT_TRUE(torch::equal(mask_targets(masks.to(torch::kFloat), boxes, 8), targets));
  EXPECT_EQ(mask_targets(masks.to(torch::kDouble), boxes, 8).scalar_type(), torch::kDouble);
  EXPECT_EQ(mask_targets(torch::zeros({0, 20, 20}), torch::zeros({0, 4}), 8).sizes(), torch::IntArrayRef({0, 8, 8}));
}

TEST(MaskTargets, EqualsRoiAlignOfEachMaskOnItsOwnBox) {
  torch::manual_seed(29);
  const auto masks = torch::rand({4, 15, 17}) > 0.5;
  const auto boxes = boxes_of({{0, 0, 17, 15}, {2.5, 3.2, 9.9, 12.1}, {-3, 4, 8, 20}, {10, 1, 11.5, 2}});
  const auto targets = mask_targets(masks, boxes, 6);
  for (std::int64_t k = 0; k < 4; ++k) {
    const auto roi = torch::cat({torch::zeros({1, 1}, torch::kDouble), boxes.slice(0, k, k + 1)}, 1);
    const auto pooled = roi_align(masks[k].to(torch::kFloat).view({1, 1, 15, 17}), roi, 6, 6, 1.0, 0, true)[0][0];
    EXPECT_TRUE(torch::equal(targets[k], (pooled >= 0.5).to(torch::kFloat))) << "mask " << k;
  }
}

TEST(MaskTargets, ErrorMessages) {
  EXPECT_EQ(error_text([] { mask_targets(torch::zeros({2, 1, 5, 5}), torch::zeros({2, 4}), 8); }),
            "mask_targets: 'masks': expected one full-image mask per box, [K, H, W], got [2, 1, 5, 5]; stack the "
            "objects' masks along dimension 0");
  EXPECT_EQ(error_text([] { mask_targets(torch::zeros({2, 5, 5}), torch::zeros({3, 4}), 8); }),
            "mask_targets: expected one box per mask, got 2 masks and 3 boxes; pass the boxes the masks belong to, in "
            "the same order");
  EXPECT_EQ(error_text([] { mask_targets(torch::zeros({2, 5, 5}), torch::zeros({2, 4}), 0); }),
            "mask_targets: 'size': expected at least 1, got 0; pass the mask head's output resolution (e.g. 28)");
  EXPECT_EQ(error_text([] { mask_targets(torch::zeros({2, 0, 5}), torch::zeros({2, 4}), 8); }),
            "mask_targets: 'masks' are [2, 0, 5], an empty image; pass the image-sized masks");
}

}  // namespace
}  // namespace autotimm::ops
