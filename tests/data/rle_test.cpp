// COCO run-length encodings: runs worked out by hand, encode / decode round trips on random masks, compressed strings
// written out by hand from the format's definition, polygon masks against a hand-rasterised rectangle and triangle
// and against a straightforward reference rasteriser (every walk step stored, toggles counted per pixel), merge and
// IoU against pixel-by-pixel computations, and every error message.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "autotimm/data/rle.hpp"
#include "autotimm/error.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

using autotimm::testing::error_text;
using Bytes = std::vector<std::uint8_t>;
using Counts = std::vector<std::uint32_t>;

/// Row-major bytes from rows of '0' / '1'.
Bytes mask_of(const std::vector<std::string>& rows) {
  Bytes out;
  for (const auto& row : rows) {
    for (const char c : row) out.push_back(c == '1' ? 1 : 0);
  }
  return out;
}

Rle encode_rows(const std::vector<std::string>& rows) {
  const Bytes bytes = mask_of(rows);
  return rle_encode(bytes.data(), static_cast<int>(rows.size()), static_cast<int>(rows.front().size()));
}

Bytes decoded(const Rle& rle) {
  Bytes out(static_cast<std::size_t>(rle.height) * static_cast<std::size_t>(rle.width), 7);
  rle_decode(rle, out.data());
  return out;
}

/// A random mask: noise at a random density plus a few solid rectangles, so both short and long runs occur.
Bytes random_mask(std::mt19937& rng, int height, int width) {
  const double densities[] = {0.0, 0.05, 0.5, 0.95, 1.0};
  std::bernoulli_distribution pixel(densities[std::uniform_int_distribution<int>(0, 4)(rng)]);
  Bytes mask(static_cast<std::size_t>(height) * width);
  for (auto& value : mask) value = pixel(rng) ? static_cast<std::uint8_t>(1 + rng() % 255) : 0;
  const int rectangles = std::uniform_int_distribution<int>(0, 3)(rng);
  for (int r = 0; r < rectangles; ++r) {
    const int x0 = std::uniform_int_distribution<int>(0, width - 1)(rng);
    const int y0 = std::uniform_int_distribution<int>(0, height - 1)(rng);
    const int x1 = std::uniform_int_distribution<int>(x0, width - 1)(rng);
    const int y1 = std::uniform_int_distribution<int>(y0, height - 1)(rng);
    const std::uint8_t value = rng() % 2 == 0 ? 0 : 1;
    for (int y = y0; y <= y1; ++y) {
      for (int x = x0; x <= x1; ++x) mask[static_cast<std::size_t>(y) * width + x] = value;
    }
  }
  return mask;
}

Bytes binary(const Bytes& mask) {
  Bytes out(mask.size());
  for (std::size_t i = 0; i < mask.size(); ++i) out[i] = mask[i] != 0 ? 1 : 0;
  return out;
}

/// The tight box of a row-major mask, x1, y1, x2, y2 with exclusive ends; zeros when empty.
std::array<double, 4> brute_box(const Bytes& mask, int height, int width) {
  int x1 = width, y1 = height, x2 = -1, y2 = -1;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      if (mask[static_cast<std::size_t>(y) * width + x] == 0) continue;
      x1 = std::min(x1, x);
      y1 = std::min(y1, y);
      x2 = std::max(x2, x);
      y2 = std::max(y2, y);
    }
  }
  if (x2 < 0) return {0, 0, 0, 0};
  return {double(x1), double(y1), double(x2 + 1), double(y2 + 1)};
}

/// Canonical runs: the first may be empty (first pixel foreground), no other is.
bool canonical(const Counts& counts) {
  for (std::size_t i = 1; i < counts.size(); ++i) {
    if (counts[i] == 0) return false;
  }
  return !counts.empty();
}

// ---- encode / decode ----------------------------------------------------------------------------------------------

TEST(RleEncode, RunsAreColumnMajorAndStartWithBackground) {
  // Columns read down: (0,1), (1,1), (1,0) → 0 | 1 1 1 1 | 0.
  EXPECT_EQ(encode_rows({"011", "110"}).counts, (Counts{1, 4, 1}));
  // The first pixel is foreground: an empty background run comes first.
  EXPECT_EQ(encode_rows({"110"}).counts, (Counts{0, 2, 1}));
  EXPECT_EQ(encode_rows({"00", "00"}).counts, (Counts{4}));
  EXPECT_EQ(encode_rows({"11", "11"}).counts, (Counts{0, 4}));
  EXPECT_EQ(encode_rows({"0"}).counts, (Counts{1}));
  EXPECT_EQ(encode_rows({"1"}).counts, (Counts{0, 1}));
  // Column-major, not row-major: a row of ones is split by the rows below it.
  EXPECT_EQ(encode_rows({"111", "000"}).counts, (Counts{0, 1, 1, 1, 1, 1, 1}));
  const Rle rle = encode_rows({"111", "000"});
  EXPECT_EQ(rle.height, 2);
  EXPECT_EQ(rle.width, 3);
  // Any nonzero byte is foreground.
  const Bytes bytes{0, 255, 7, 0};
  EXPECT_EQ(rle_encode(bytes.data(), 2, 2).counts, (Counts{1, 2, 1}));
}

TEST(RleEncode, RandomMasksRoundTripWithAreaAndBox) {
  std::mt19937 rng(2024);
  const std::vector<std::pair<int, int>> sizes = {{1, 1}, {1, 9}, {9, 1}, {2, 2}, {5, 7}, {17, 32}, {48, 64}};
  for (const auto& [height, width] : sizes) {
    for (int trial = 0; trial < 40; ++trial) {
      const Bytes mask = random_mask(rng, height, width);
      const Rle rle = rle_encode(mask.data(), height, width);
      const std::string what = std::to_string(height) + "x" + std::to_string(width) + " trial " + std::to_string(trial);
      ASSERT_EQ(decoded(rle), binary(mask)) << what;
      EXPECT_TRUE(canonical(rle.counts)) << what;
      EXPECT_EQ(rle.area(), static_cast<std::uint64_t>(std::count_if(mask.begin(), mask.end(),
                                                                     [](std::uint8_t v) { return v != 0; })))
          << what;
      EXPECT_EQ(rle.box(), brute_box(mask, height, width)) << what;
      // The string form carries the same runs.
      EXPECT_EQ(rle_from_string(rle_to_string(rle), height, width), rle) << what;
    }
  }
}

TEST(RleEncode, ImagesInAndOut) {
  Image image(3, 2, 1);  // width 3, height 2
  image.at(2, 0, 0) = 9;
  image.at(0, 1, 0) = 1;
  const Rle rle = rle_encode(image);
  EXPECT_EQ(rle.height, 2);
  EXPECT_EQ(rle.width, 3);
  EXPECT_EQ(rle.counts, (Counts{1, 1, 2, 1, 1}));
  const Image back = rle_decode(rle);
  EXPECT_EQ(back.width, 3);
  EXPECT_EQ(back.height, 2);
  EXPECT_EQ(back.channels, 1);
  EXPECT_EQ(back.pixels, (Bytes{0, 0, 1, 1, 0, 0}));
}

TEST(RleEncode, EmptySizesAndErrors) {
  EXPECT_EQ(rle_encode(nullptr, 0, 5), (Rle{0, 5, {0}}));
  EXPECT_EQ(rle_encode(Image(0, 0, 1)), (Rle{0, 0, {0}}));
  EXPECT_EQ(rle_decode(Rle{}).pixels.size(), 0u);
  const Bytes four(4, 0);
  EXPECT_EQ(error_text([] { rle_encode(nullptr, 2, 2); }), "rle_encode: mask: expected 4 bytes, got a null pointer");
  EXPECT_EQ(error_text([&] { rle_encode(four.data(), -1, 2); }),
            "rle_encode: size [-1, 2]: expected a height and width of 0 or more");
  EXPECT_EQ(error_text([&] { rle_encode(four.data(), 65536, 65536); }),
            "rle_encode: size [65536, 65536]: expected at most 4294967295 pixels (32-bit run lengths), got "
            "4294967296; split the mask");
  EXPECT_EQ(error_text([] { rle_encode(Image(2, 2, 3)); }),
            "rle_encode: mask image: expected 1 channel, got 3; pass a one-channel mask (nonzero is foreground)");
  Image short_pixels(2, 2, 1);
  short_pixels.pixels.pop_back();
  EXPECT_EQ(error_text([&] { rle_encode(short_pixels); }),
            "rle_encode: mask image of 2x2: expected 4 bytes of pixels, got 3; build it with Image(width, height, 1)");
  // An Rle whose runs do not cover its size is refused before anything is written.
  Bytes out(4, 9);
  EXPECT_EQ(error_text([&] { rle_decode(Rle{2, 2, {1, 2}}, out.data()); }),
            "rle_decode: an Rle of size [2, 2]: expected runs summing to height × width = 4, got 3; build Rles with "
            "rle_encode, rle_from_string, rle_from_counts or rle_from_polygons");
  EXPECT_EQ(out, Bytes(4, 9));
  EXPECT_EQ(error_text([] { rle_decode(Rle{2, 2, {4}}, nullptr); }),
            "rle_decode: out: expected room for 4 bytes, got a null pointer");
  EXPECT_EQ(error_text([] { rle_decode(Rle{2, 2, {1, 4}}); }),
            "rle_decode: an Rle of size [2, 2]: expected runs summing to height × width = 4, got 5; build Rles with "
            "rle_encode, rle_from_string, rle_from_counts or rle_from_polygons");
}

TEST(RleBox, RunsThatWrapIntoTheNextColumnSpanTheFullHeight) {
  // 3 × 3; foreground at column-major positions 2, 3: (x 0, y 2) and (x 1, y 0).
  EXPECT_EQ((Rle{3, 3, {2, 2, 5}}.box()), (std::array<double, 4>{0, 0, 2, 3}));
  EXPECT_EQ((Rle{3, 3, {2, 2, 5}}.area()), 2u);
  // One pixel at (x 1, y 1).
  EXPECT_EQ((Rle{3, 3, {4, 1, 4}}.box()), (std::array<double, 4>{1, 1, 2, 2}));
  // Two runs in different columns, neither wrapping: rows 1 and 0..1.
  EXPECT_EQ((Rle{3, 3, {1, 1, 4, 2, 1}}.box()), (std::array<double, 4>{0, 0, 3, 2}));
  EXPECT_EQ((Rle{3, 3, {9}}.box()), (std::array<double, 4>{0, 0, 0, 0}));
  EXPECT_EQ((Rle{3, 3, {9}}.area()), 0u);
  // Empty foreground runs (allowed in strings) do not count.
  EXPECT_EQ((Rle{3, 3, {4, 0, 1, 1, 3}}.box()), (std::array<double, 4>{1, 2, 2, 3}));
  EXPECT_EQ((Rle{}.box()), (std::array<double, 4>{0, 0, 0, 0}));
}

// ---- compressed strings -------------------------------------------------------------------------------------------
// Each value is written in 5-bit groups, low first, + 48; 0x20 marks "more follow"; the last group's 0x10 is the
// sign. From the fourth run on, the value written is the run minus the run two before.

struct KnownString {
  int height;
  int width;
  Counts counts;
  std::string text;
};

TEST(RleString, HandComputedStrings) {
  const std::vector<KnownString> known = {
      // 0 3 2 raw; 2-3 = -1 → 31 with the sign bit → 'O'; 3-2 = 1; 1-2 = -1 → 'O'; 14-3 = 11 → ';'.
      {5, 5, {0, 3, 2, 2, 3, 1, 14}, "032O1O;"},
      // 40 = 8 + 1·32 → (8|0x20)+48 = 'X', then '1'; 60 = 28 + 1·32 → (28|0x20)+48 = 'l', then '1'.
      {10, 10, {40, 60}, "X1l1"},
      // 16 alone would read as negative (0x10): it takes a second group, (16|0x20)+48 = '`', then '0'.
      {5, 5, {16, 9}, "`09"},
      // 1; 50 = 18 + 32 → 'b' '1'; 2; 10-50 = -40 = 24 + (-2)·32 → (24|0x20)+48 = 'h', then -2 → 30 → 'N';
      // 1-2 = -1 → 'O'; 36-10 = 26 has 0x10 set → (26|0x20)+48 = 'j', then '0'.
      {10, 10, {1, 50, 2, 10, 1, 36}, "1b12hNOj0"},
      // The first three runs are never written as differences.
      {3, 3, {0, 9}, "09"},
      {4, 4, {5, 5, 6}, "556"},
  };
  for (const auto& k : known) {
    const Rle rle{k.height, k.width, k.counts};
    EXPECT_EQ(rle_to_string(rle), k.text);
    EXPECT_EQ(rle_from_string(k.text, k.height, k.width), rle) << k.text;
  }
}

TEST(RleString, ThirtyTwoBitRunsTakeSevenCharacters) {
  // 65535 × 65537 = 2^32 - 1 pixels: the largest run there is, and the largest negative difference.
  const Rle one_run{65535, 65537, {0, 4294967295u}};
  const std::string text = rle_to_string(one_run);
  EXPECT_EQ(text.size(), 1u + 7u);
  EXPECT_EQ(rle_from_string(text, 65535, 65537), one_run);
  const Rle back_and_forth{65535, 65537, {1, 4294967293u, 1, 0}};
  const std::string second = rle_to_string(back_and_forth);
  EXPECT_EQ(second.size(), 1u + 7u + 1u + 7u);
  EXPECT_EQ(second[8], '1');  // the third run is written raw
  EXPECT_EQ(rle_from_string(second, 65535, 65537), back_and_forth);
}

TEST(RleString, RandomCountsRoundTrip) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    // Runs of every magnitude, empty ones included (the string allows them): differences of both signs.
    Counts counts;
    std::uint64_t sum = 0;
    const int n = std::uniform_int_distribution<int>(1, 12)(rng);
    for (int i = 0; i < n; ++i) {
      const int bits = std::uniform_int_distribution<int>(0, 20)(rng);
      const std::uint32_t run = static_cast<std::uint32_t>(rng() & ((1u << bits) - 1));
      counts.push_back(run);
      sum += run;
    }
    if (sum == 0) continue;
    // Any factorisation works for the string; 1 × sum keeps it simple.
    const Rle rle{1, static_cast<int>(sum), counts};
    const std::string text = rle_to_string(rle);
    ASSERT_EQ(rle_from_string(text, 1, static_cast<int>(sum)), rle) << text;
    EXPECT_EQ(rle_to_string(rle_from_string(text, 1, static_cast<int>(sum))), text);
  }
}

TEST(RleString, MalformedStringsSayWhatAndWhere) {
  const std::string fix =
      "; the \"counts\" string is corrupt or truncated: re-export the annotation, and make sure it is read unchanged "
      "(no escaping)";
  EXPECT_EQ(error_text([] { rle_from_string("03!", 2, 2); }),
            "COCO RLE counts string: position 2: expected a character in '0'..'o', got '!'" + fix);
  EXPECT_EQ(error_text([] { rle_from_string("0p", 2, 2); }),
            "COCO RLE counts string: position 1: expected a character in '0'..'o', got 'p'" + fix);
  EXPECT_EQ(error_text([] { rle_from_string("/", 2, 2); }),
            "COCO RLE counts string: position 0: expected a character in '0'..'o', got '/'" + fix);
  EXPECT_EQ(error_text([] { rle_from_string("04\n", 2, 2); }),
            "COCO RLE counts string: position 2: expected a character in '0'..'o', got byte 0x0A" + fix);
  EXPECT_EQ(error_text([] { rle_from_string(std::string("0\xff", 2), 2, 2); }),
            "COCO RLE counts string: position 1: expected a character in '0'..'o', got byte 0xFF" + fix);
  // 'X' = 40 + 48 has the continuation bit: the string ends inside a value.
  EXPECT_EQ(error_text([] { rle_from_string("0X", 2, 2); }),
            "COCO RLE counts string: the value starting at position 1: expected another character, got the end of "
            "the string (the last one, 'X', asks for more)" + fix);
  EXPECT_EQ(error_text([] { rle_from_string("0XXXXXXX1", 2, 2); }),
            "COCO RLE counts string: the value starting at position 1: expected at most 7 characters (a 32-bit run), "
            "got more" + fix);
  // 'O' = 31: a raw -1 as the first run; "111N": the fourth run is 1 + (-2).
  EXPECT_EQ(error_text([] { rle_from_string("O", 2, 2); }),
            "COCO RLE counts string: run 0 (the value at position 0): expected a length of 0 or more, got -1" + fix);
  EXPECT_EQ(error_text([] { rle_from_string("111N", 2, 2); }),
            "COCO RLE counts string: run 3 (the value at position 3): expected a length of 0 or more, got -1" + fix);
  EXPECT_EQ(error_text([] { rle_from_string("129", 3, 3); }),
            "COCO RLE counts string: run 2 (the value at position 2): expected the runs to cover height × width = 9 "
            "pixels (size [3, 3]), got 12 by this run; check that \"size\" belongs to this \"counts\"");
  EXPECT_EQ(error_text([] { rle_from_string("12", 2, 2); }),
            "COCO RLE counts string: expected runs summing to height × width = 4 (size [2, 2]), got 3 in 2 runs; "
            "check that \"size\" belongs to this \"counts\"");
  EXPECT_EQ(error_text([] { rle_from_string("", 2, 2); }),
            "COCO RLE counts string: expected runs summing to height × width = 4 (size [2, 2]), got 0 in 0 runs; "
            "check that \"size\" belongs to this \"counts\"");
  EXPECT_EQ(error_text([] { rle_from_string("1", 0, 4); }),
            "COCO RLE counts string: size [0, 4]: expected a positive height and width; check the annotation's "
            "\"size\" (or the image's height and width)");
  EXPECT_EQ(error_text([] { rle_from_string("1", 3, -2); }),
            "COCO RLE counts string: size [3, -2]: expected a positive height and width; check the annotation's "
            "\"size\" (or the image's height and width)");
  EXPECT_EQ(error_text([] { rle_from_string("1", 65536, 65536); }),
            "COCO RLE counts string: size [65536, 65536]: expected at most 4294967295 pixels (32-bit run lengths), "
            "got 4294967296; check the annotation's \"size\"");
  // A long hostile string of zero-length runs ends in the sum check, not in unbounded work.
  EXPECT_EQ(error_text([] { rle_from_string(std::string(100000, '0'), 2, 2); }),
            "COCO RLE counts string: expected runs summing to height × width = 4 (size [2, 2]), got 0 in 100000 "
            "runs; check that \"size\" belongs to this \"counts\"");
}

TEST(RleCounts, UncompressedCountsAreChecked) {
  EXPECT_EQ(rle_from_counts({0, 3, 1}, 2, 2), (Rle{2, 2, {0, 3, 1}}));
  EXPECT_EQ(rle_from_counts({4}, 2, 2), (Rle{2, 2, {4}}));
  EXPECT_EQ(error_text([] { rle_from_counts({1, -2, 5}, 2, 2); }),
            "COCO RLE counts: run 1: expected a length of 0 or more, got -2; the annotation's \"counts\" is corrupt");
  EXPECT_EQ(error_text([] { rle_from_counts({1, 4}, 2, 2); }),
            "COCO RLE counts: run 1: expected the runs to cover height × width = 4 pixels (size [2, 2]), got 5 by "
            "this run; check that \"size\" belongs to this \"counts\"");
  EXPECT_EQ(error_text([] { rle_from_counts({1, std::int64_t{1} << 40}, 2, 2); }),
            "COCO RLE counts: run 1: expected the runs to cover height × width = 4 pixels (size [2, 2]), got "
            "1099511627777 by this run; check that \"size\" belongs to this \"counts\"");
  EXPECT_EQ(error_text([] { rle_from_counts({1, 2}, 2, 2); }),
            "COCO RLE counts: expected runs summing to height × width = 4 (size [2, 2]), got 3 in 2 runs; check that "
            "\"size\" belongs to this \"counts\"");
  EXPECT_EQ(error_text([] { rle_from_counts({}, 0, 0); }),
            "COCO RLE counts: size [0, 0]: expected a positive height and width; check the annotation's \"size\" (or "
            "the image's height and width)");
}

// ---- polygons -----------------------------------------------------------------------------------------------------

/// A plain rasteriser following maskApi's rule step by step: every point of the walk is stored, every step that
/// crosses a pixel-column centre toggles the pixel below the crossing, and a pixel is foreground when the toggles at
/// or before it (column-major) are odd in number. Written in floating point as the rule is stated.
Bytes reference_polygon(const std::vector<double>& xy, int height, int width) {
  const std::size_t k = xy.size() / 2;
  std::vector<long> x(k + 1), y(k + 1);
  for (std::size_t j = 0; j < k; ++j) {
    x[j] = static_cast<long>(5.0 * xy[2 * j] + 0.5);
    y[j] = static_cast<long>(5.0 * xy[2 * j + 1] + 0.5);
  }
  x[k] = x[0];
  y[k] = y[0];
  std::vector<long> u, v;
  for (std::size_t j = 0; j < k; ++j) {
    long xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const long dx = std::labs(xe - xs), dy = std::labs(ye - ys);
    const bool along_x = dx >= dy;
    const bool flip = along_x ? xs > xe : ys > ye;
    if (flip) {
      std::swap(xs, xe);
      std::swap(ys, ye);
    }
    const long n = along_x ? dx : dy;
    for (long d = 0; d <= n; ++d) {
      const long t = flip ? n - d : d;
      if (n == 0) {
        // A repeated vertex; its row never matters (see the library), any value will do here.
        u.push_back(xs);
        v.push_back(ys);
      } else if (along_x) {
        const double s = static_cast<double>(ye - ys) / static_cast<double>(dx);
        u.push_back(t + xs);
        v.push_back(static_cast<long>(static_cast<double>(ys) + s * static_cast<double>(t) + 0.5));
      } else {
        const double s = static_cast<double>(xe - xs) / static_cast<double>(dy);
        v.push_back(t + ys);
        u.push_back(static_cast<long>(static_cast<double>(xs) + s * static_cast<double>(t) + 0.5));
      }
    }
  }
  std::vector<int> toggles(static_cast<std::size_t>(height) * width + 1, 0);
  for (std::size_t j = 1; j < u.size(); ++j) {
    if (u[j] == u[j - 1]) continue;
    double xd = static_cast<double>(u[j] < u[j - 1] ? u[j] : u[j] - 1);
    xd = (xd + 0.5) / 5.0 - 0.5;
    if (std::floor(xd) != xd || xd < 0 || xd > width - 1) continue;
    double yd = static_cast<double>(std::min(v[j], v[j - 1]));
    yd = (yd + 0.5) / 5.0 - 0.5;
    yd = std::ceil(std::clamp(yd, 0.0, static_cast<double>(height)));
    toggles[static_cast<std::size_t>(xd) * height + static_cast<std::size_t>(yd)] ^= 1;
  }
  Bytes mask(static_cast<std::size_t>(height) * width, 0);
  int parity = 0;
  for (int column = 0; column < width; ++column) {
    for (int row = 0; row < height; ++row) {
      parity ^= toggles[static_cast<std::size_t>(column) * height + row];
      mask[static_cast<std::size_t>(row) * width + column] = static_cast<std::uint8_t>(parity);
    }
  }
  return mask;
}

TEST(RlePolygon, AxisAlignedSquareCoversThePixelsWhoseCentresAreInside) {
  // x and y from 10 to 20: centres 10.5 .. 19.5 are inside, so columns and rows 10..19.
  const Rle rle = rle_from_polygons({{10, 10, 20, 10, 20, 20, 10, 20}}, 30, 30);
  Counts expected{310};
  for (int column = 0; column < 10; ++column) {
    expected.push_back(10);
    expected.push_back(column < 9 ? 20 : 310);
  }
  EXPECT_EQ(rle.counts, expected);
  EXPECT_EQ(rle.area(), 100u);
  EXPECT_EQ(rle.box(), (std::array<double, 4>{10, 10, 20, 20}));
  // Clockwise or counter-clockwise, the same pixels.
  EXPECT_EQ(rle_from_polygons({{10, 20, 20, 20, 20, 10, 10, 10}}, 30, 30), rle);
  const Bytes pixels = decoded(rle);
  for (int y = 0; y < 30; ++y) {
    for (int x = 0; x < 30; ++x) {
      const bool inside = x >= 10 && x < 20 && y >= 10 && y < 20;
      ASSERT_EQ(pixels[static_cast<std::size_t>(y) * 30 + x], inside ? 1 : 0) << x << ", " << y;
    }
  }
}

TEST(RlePolygon, RightTriangleByHand) {
  // (0,0) (4,0) (0,4): centres strictly inside x + y < 4 are (0.5, 0.5..2.5), (1.5, 0.5..1.5), (2.5, 0.5); centres
  // on the hypotenuse are out. Column 0 rows 0-2, column 1 rows 0-1, column 2 row 0.
  const Rle rle = rle_from_polygons({{0, 0, 4, 0, 0, 4}}, 5, 5);
  EXPECT_EQ(rle.counts, (Counts{0, 3, 2, 2, 3, 1, 14}));
  EXPECT_EQ(rle_to_string(rle), "032O1O;");
  EXPECT_EQ(rle.box(), (std::array<double, 4>{0, 0, 3, 3}));
}

TEST(RlePolygon, PartsOutsideTheImageAreClipped) {
  // A square hanging over the top-left corner: columns and rows 0..4 remain.
  const Rle rle = rle_from_polygons({{-3, -3, 5, -3, 5, 5, -3, 5}}, 8, 6);
  EXPECT_EQ(rle.area(), 25u);
  EXPECT_EQ(rle.box(), (std::array<double, 4>{0, 0, 5, 5}));
  // Entirely outside: nothing.
  EXPECT_EQ(rle_from_polygons({{-30, -30, -20, -30, -20, -20}}, 8, 6).counts, (Counts{48}));
  // Far-away vertices cost no more than near ones: the walk is searched, not stepped.
  const Rle huge = rle_from_polygons({{-9e7, -9e7, 9e7, -9e7, 9e7, 9e7, -9e7, 9e7}}, 8, 6);
  EXPECT_EQ(huge.counts, (Counts{0, 48}));
}

TEST(RlePolygon, RandomPolygonsMatchTheReference) {
  std::mt19937 rng(99);
  int non_empty = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const int height = std::uniform_int_distribution<int>(1, 24)(rng);
    const int width = std::uniform_int_distribution<int>(1, 24)(rng);
    const int points = std::uniform_int_distribution<int>(3, 9)(rng);
    // Coordinates on grids of 1, 0.5, 0.1 and 0.2 pixels (ties in the rounding), a margin outside the image, and
    // sometimes a repeated vertex.
    const double steps[] = {1.0, 0.5, 0.1, 0.2, 0.01};
    const double step = steps[trial % 5];
    const double margin = trial % 7 == 0 ? 40.0 : 3.0;
    std::vector<double> xy;
    for (int p = 0; p < points; ++p) {
      if (p > 0 && rng() % 6 == 0) {
        xy.push_back(xy[xy.size() - 2]);
        xy.push_back(xy[xy.size() - 2]);
        continue;
      }
      const double x = std::uniform_real_distribution<double>(-margin, width + margin)(rng);
      const double y = std::uniform_real_distribution<double>(-margin, height + margin)(rng);
      xy.push_back(std::round(x / step) * step);
      xy.push_back(std::round(y / step) * step);
    }
    const Rle rle = rle_from_polygons({xy}, height, width);
    const Bytes expected = reference_polygon(xy, height, width);
    ASSERT_EQ(decoded(rle), expected) << "trial " << trial;
    ASSERT_EQ(rle, rle_encode(expected.data(), height, width)) << "trial " << trial;
    non_empty += rle.area() > 0 ? 1 : 0;
  }
  EXPECT_GT(non_empty, 1500);
}

TEST(RlePolygon, PartsAreMergedByUnion) {
  const std::vector<double> left{1, 1, 5, 1, 5, 6, 1, 6};
  const std::vector<double> right{3, 2, 9, 2, 9, 4, 3, 4};
  const Rle both = rle_from_polygons({left, right}, 8, 10);
  const Bytes a = decoded(rle_from_polygons({left}, 8, 10)), b = decoded(rle_from_polygons({right}, 8, 10));
  Bytes expected(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) expected[i] = a[i] | b[i];
  EXPECT_EQ(decoded(both), expected);
  EXPECT_EQ(both.area(), 20u + 12u - 4u);  // 4 × 5 and 6 × 2, overlapping in columns 3, 4 of rows 2, 3
  EXPECT_TRUE(canonical(both.counts));
  // No parts: an empty mask of the size.
  EXPECT_EQ(rle_from_polygons({}, 3, 4), (Rle{3, 4, {12}}));
}

TEST(RlePolygon, MalformedPolygonsSayWhichPart) {
  const std::vector<double> square{1, 1, 3, 1, 3, 3, 1, 3};
  EXPECT_EQ(error_text([&] { rle_from_polygons({square, {1, 2, 3, 4, 5, 6, 7}}, 8, 8); }),
            "COCO polygon segmentation, part 1: expected x, y pairs (an even number of coordinates), got 7 "
            "coordinates; fix the annotation's \"segmentation\"");
  EXPECT_EQ(error_text([&] { rle_from_polygons({{1, 2, 3, 4}, square}, 8, 8); }),
            "COCO polygon segmentation, part 0: expected at least 3 points, got 2; drop the part or fix the "
            "annotation's \"segmentation\"");
  EXPECT_EQ(error_text([&] { rle_from_polygons({{}}, 8, 8); }),
            "COCO polygon segmentation, part 0: expected at least 3 points, got 0; drop the part or fix the "
            "annotation's \"segmentation\"");
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(error_text([&] { rle_from_polygons({{1, 1, 3, inf, 3, 3}}, 8, 8); }),
            "COCO polygon segmentation, part 0: coordinate 3: expected a finite value within +-1e8 pixels, got inf; "
            "fix the annotation's \"segmentation\"");
  EXPECT_EQ(error_text([&] { rle_from_polygons({{1, 1, 3, 1, -2e8, 3}}, 8, 8); }),
            "COCO polygon segmentation, part 0: coordinate 4: expected a finite value within +-1e8 pixels, got "
            "-200000000.000000; fix the annotation's \"segmentation\"");
  EXPECT_EQ(error_text([&] { rle_from_polygons({square}, -1, 5); }),
            "COCO polygon segmentation: size [-1, 5]: expected a positive height and width; check the annotation's "
            "\"size\" (or the image's height and width)");
}

// ---- merge and IoU ------------------------------------------------------------------------------------------------

TEST(RleMerge, UnionAndIntersectionMatchPixelwiseOrAnd) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    const int height = std::uniform_int_distribution<int>(1, 12)(rng);
    const int width = std::uniform_int_distribution<int>(1, 12)(rng);
    const int count = std::uniform_int_distribution<int>(2, 4)(rng);
    std::vector<Rle> rles;
    Bytes any(static_cast<std::size_t>(height) * width, 0), all(any.size(), 1);
    for (int i = 0; i < count; ++i) {
      const Bytes mask = binary(random_mask(rng, height, width));
      rles.push_back(rle_encode(mask.data(), height, width));
      for (std::size_t p = 0; p < mask.size(); ++p) {
        any[p] |= mask[p];
        all[p] &= mask[p];
      }
    }
    const Rle united = rle_merge(rles), common = rle_merge(rles, true);
    ASSERT_EQ(decoded(united), any) << trial;
    ASSERT_EQ(decoded(common), all) << trial;
    // The runs are those rle_encode gives the result (canonical), as maskApi's merge gives.
    EXPECT_EQ(united, rle_encode(any.data(), height, width)) << trial;
    EXPECT_EQ(common, rle_encode(all.data(), height, width)) << trial;
  }
}

TEST(RleMerge, EmptyRunsSingleMasksAndSizes) {
  EXPECT_EQ(rle_merge({}), Rle{});
  const Rle one{2, 3, {1, 0, 0, 2, 3}};  // non-canonical, as a string may give it
  EXPECT_EQ(rle_merge({one}), one);
  // Empty runs in the middle are skipped: foreground at positions 1, 2.
  EXPECT_EQ(rle_merge({one, Rle{2, 3, {6}}}), (Rle{2, 3, {1, 2, 3}}));
  EXPECT_EQ(rle_merge({one, Rle{2, 3, {0, 6}}}, true), (Rle{2, 3, {1, 2, 3}}));
  EXPECT_EQ(error_text([&] { rle_merge({Rle{2, 3, {6}}, Rle{3, 2, {6}}}); }),
            "rle_merge: mask 1: size [3, 2]: expected [2, 3] as mask 0 (height, width); merge masks of one image only");
  EXPECT_EQ(error_text([&] { rle_merge({Rle{2, 3, {6}}, Rle{2, 3, {5}}}); }),
            "rle_merge: mask 1: an Rle of size [2, 3]: expected runs summing to height × width = 6, got 5; build Rles "
            "with rle_encode, rle_from_string, rle_from_counts or rle_from_polygons");
}

/// IoU from decoded pixels: intersection over union, or over the detection's area for a crowd ground truth.
double brute_iou(const Bytes& d, const Bytes& g, bool crowd) {
  double inter = 0, uni = 0, area = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    inter += (d[i] && g[i]) ? 1 : 0;
    uni += (d[i] || g[i]) ? 1 : 0;
    area += d[i] ? 1 : 0;
  }
  if (inter == 0) return 0.0;
  return inter / (crowd ? area : uni);
}

TEST(RleIou, HandComputedValues) {
  const Rle a = encode_rows({"1100"}), b = encode_rows({"0110"}), c = encode_rows({"0001"});
  const auto iou = coco_mask_iou({a, c}, {a, b, c, b}, {0, 0, 0, 1});
  ASSERT_EQ(iou.size(), 8u);
  // Rows are detections, columns ground truths.
  EXPECT_EQ(iou, (std::vector<double>{1.0, 1.0 / 3.0, 0.0, 0.5, 0.0, 0.0, 1.0, 0.0}));
  EXPECT_TRUE(coco_mask_iou({}, {a}, {0}).empty());
  EXPECT_TRUE(coco_mask_iou({a}, {}, {}).empty());
  // Empty masks overlap nothing, themselves included.
  const Rle empty = encode_rows({"0000"});
  EXPECT_EQ(coco_mask_iou({empty}, {empty}, {1}), (std::vector<double>{0.0}));
}

TEST(RleIou, RandomMasksMatchDecodedPixels) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 40; ++trial) {
    const int height = std::uniform_int_distribution<int>(1, 16)(rng);
    const int width = std::uniform_int_distribution<int>(1, 16)(rng);
    std::vector<Bytes> dt_masks, gt_masks;
    std::vector<Rle> dts, gts;
    for (int i = 0; i < 4; ++i) {
      dt_masks.push_back(binary(random_mask(rng, height, width)));
      dts.push_back(rle_encode(dt_masks.back().data(), height, width));
    }
    for (int i = 0; i < 5; ++i) {
      gt_masks.push_back(binary(random_mask(rng, height, width)));
      gts.push_back(rle_encode(gt_masks.back().data(), height, width));
    }
    const std::vector<std::uint8_t> crowd{0, 1, 0, 7, 0};
    const auto iou = coco_mask_iou(dts, gts, crowd);
    ASSERT_EQ(iou.size(), 20u);
    for (std::size_t d = 0; d < 4; ++d) {
      for (std::size_t g = 0; g < 5; ++g) {
        EXPECT_DOUBLE_EQ(iou[d * 5 + g], brute_iou(dt_masks[d], gt_masks[g], crowd[g] != 0))
            << trial << ": " << d << ", " << g;
      }
    }
  }
}

TEST(RleIou, PolygonMasksAndNonCanonicalRuns) {
  // A crowd region covering a detection entirely scores 1 even though the union is larger.
  const Rle crowd = rle_from_polygons({{0, 0, 20, 0, 20, 20, 0, 20}}, 20, 20);
  const Rle detection = rle_from_polygons({{5, 5, 10, 5, 10, 10, 5, 10}}, 20, 20);
  EXPECT_EQ(coco_mask_iou({detection}, {crowd, crowd}, {1, 0}), (std::vector<double>{1.0, 25.0 / 400.0}));
  // Empty runs (as a string may carry) change nothing.
  const Rle plain{1, 4, {1, 2, 1}}, padded{1, 4, {1, 1, 0, 1, 1}};
  EXPECT_EQ(coco_mask_iou({plain}, {padded}, {0}), (std::vector<double>{1.0}));
}

TEST(RleIou, ArgumentErrors) {
  const Rle a{2, 3, {6}}, other_size{3, 3, {9}};
  EXPECT_EQ(error_text([&] { coco_mask_iou({a}, {a, a}, {0}); }),
            "coco_mask_iou: gt_crowd: expected one flag per ground truth (2), got 1; pass iscrowd of every ground "
            "truth, in order");
  EXPECT_EQ(error_text([&] { coco_mask_iou({a}, {a, other_size}, {0, 0}); }),
            "coco_mask_iou: ground truth 1: size [3, 3]: expected [2, 3] (height, width) like every other mask of the "
            "image; paste masks back onto the original image first");
  EXPECT_EQ(error_text([&] { coco_mask_iou({a, other_size}, {a}, {0}); }),
            "coco_mask_iou: detection 1: size [3, 3]: expected [2, 3] (height, width) like every other mask of the "
            "image; paste masks back onto the original image first");
  EXPECT_EQ(error_text([&] { coco_mask_iou({a}, {Rle{2, 3, {7}}}, {0}); }),
            "coco_mask_iou: ground truth 0: an Rle of size [2, 3]: expected runs summing to height × width = 6, got 7; "
            "build Rles with rle_encode, rle_from_string, rle_from_counts or rle_from_polygons");
}

}  // namespace
}  // namespace autotimm
