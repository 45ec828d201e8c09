// JPEG decoding through libjpeg-turbo and the loader's partial decode (decode_and_apply): the same pixels as OpenCV's
// decoder, crops and resizes from a partially decoded file equal to the full-decode path byte for byte, the choice of
// DCT scale, and reduced-scale results within the stated tolerance of the full-scale ones.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>

// clang-format off: jpeglib.h needs stdio's FILE and size_t first.
#include <jpeglib.h>
// clang-format on

#include "autotimm/data/decode.hpp"
#include "autotimm/data/transform.hpp"
#include "autotimm/error.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

using Bytes = std::vector<std::uint8_t>;

/// Photo-like content: smooth shading, hard edges and fine noise, so every DCT coefficient and the chroma
/// upsampling matter.
Image photo(int width, int height, std::uint32_t seed) {
  Image image(width, height, 3);
  std::uint32_t state = seed * 2654435761u + 1u;
  const auto noise = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<int>((state >> 27) % 24);
  };
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double shade = std::sin(x * 0.045 + seed) * 70 + std::cos(y * 0.03) * 40;
      const bool square = ((x / 37) + (y / 29)) % 2 == 0;
      image.at(x, y, 0) = static_cast<std::uint8_t>(std::clamp(120 + static_cast<int>(shade) + noise(), 0, 255));
      image.at(x, y, 1) = static_cast<std::uint8_t>(std::clamp((square ? 180 : 60) + noise(), 0, 255));
      image.at(x, y, 2) = static_cast<std::uint8_t>(std::clamp(90 + static_cast<int>(shade / 2) + noise(), 0, 255));
    }
  }
  return image;
}

struct Encoding {
  int quality = 90;
  int h_sampling = 2;  ///< luma samples per chroma sample, across (2 and 2: 4:2:0, the usual; 1 and 1: 4:4:4)
  int v_sampling = 2;  ///< and down
  bool progressive = false;
  bool gray = false;
};

/// A JPEG written with libjpeg itself: OpenCV's encoder cannot choose the chroma subsampling.
Bytes encode(const Image& image, const Encoding& encoding = {}) {
  jpeg_compress_struct info{};
  jpeg_error_mgr errors{};
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_width = static_cast<JDIMENSION>(image.width);
  info.image_height = static_cast<JDIMENSION>(image.height);
  info.input_components = encoding.gray ? 1 : 3;
  info.in_color_space = encoding.gray ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, encoding.quality, TRUE);
  if (!encoding.gray) {
    info.comp_info[0].h_samp_factor = encoding.h_sampling;
    info.comp_info[0].v_samp_factor = encoding.v_sampling;
  }
  if (encoding.progressive) jpeg_simple_progression(&info);
  jpeg_start_compress(&info, TRUE);
  std::vector<std::uint8_t> gray_row(static_cast<std::size_t>(image.width));
  for (int y = 0; y < image.height; ++y) {
    JSAMPROW row = const_cast<std::uint8_t*>(image.row(y));
    if (encoding.gray) {
      for (int x = 0; x < image.width; ++x) gray_row[x] = image.at(x, y, 1);
      row = gray_row.data();
    }
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  Bytes bytes(buffer, buffer + size);
  std::free(buffer);
  return bytes;
}

/// The kinds of JPEG files photos come in: chroma subsampled 4:2:0 (the usual), 4:2:2, 4:4:0, 4:1:1, none (4:4:4),
/// progressive, gray; an odd size so blocks and chroma pairs do not line up with the image edges.
std::vector<std::pair<std::string, Bytes>> jpeg_variants(int width, int height) {
  const Image image = photo(width, height, 3);
  return {
      {"420", encode(image)},
      {"422", encode(image, {.h_sampling = 2, .v_sampling = 1})},
      {"440", encode(image, {.h_sampling = 1, .v_sampling = 2})},
      {"411", encode(image, {.h_sampling = 4, .v_sampling = 1})},
      {"444", encode(image, {.h_sampling = 1, .v_sampling = 1})},
      {"progressive", encode(image, {.quality = 85, .progressive = true})},
      {"gray", encode(image, {.gray = true})},
  };
}

Image opencv_decode(const Bytes& bytes) {
  const cv::Mat bgr = cv::imdecode(bytes, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  Image image(bgr.cols, bgr.rows, 3);
  cv::Mat rgb(image.height, image.width, CV_8UC3, image.pixels.data());
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return image;
}

TransformPtr transforms_of(const std::string& json) {
  return make_transforms(boost::json::parse(json).as_array(), "test");
}

/// The reference path: decode everything, then apply.
Sample full_path(const Bytes& bytes, const Transform& transform, SampleRng& rng) {
  Sample sample{decode_image(bytes, "test.jpg")};
  transform.apply(sample, rng);
  return sample;
}

struct Difference {
  double mean = 0.0;
  int max = 0;
  double over_8 = 0.0;  ///< share of values more than 8 levels apart
};

Difference difference(const Image& a, const Image& b) {
  Difference d;
  std::size_t over = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) {
    const int delta = std::abs(static_cast<int>(a.pixels[i]) - static_cast<int>(b.pixels[i]));
    d.mean += delta;
    d.max = std::max(d.max, delta);
    over += delta > 8;
  }
  d.mean /= static_cast<double>(a.pixels.size());
  d.over_8 = static_cast<double>(over) / static_cast<double>(a.pixels.size());
  return d;
}

TEST(JpegDecodeTest, SamePixelsAsOpenCvsDecoder) {
  for (const auto& [name, bytes] : jpeg_variants(333, 251)) {
    const Image ours = decode_image(bytes, name);
    const Image reference = opencv_decode(bytes);
    ASSERT_EQ(ours.width, 333) << name;
    ASSERT_EQ(ours.height, 251) << name;
    ASSERT_EQ(ours.channels, 3) << name;
    EXPECT_EQ(ours.pixels, reference.pixels) << name;
  }
}

TEST(JpegDecodeTest, TruncatedOrCorruptFilesAreFormatErrorsNamingTheFile) {
  const Bytes bytes = encode(photo(120, 90, 1));
  const Bytes truncated(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2));
  const auto message = testing::error_text([&] { decode_image(truncated, "half.jpg"); });
  EXPECT_NE(message.find("half.jpg"), std::string::npos) << message;
  EXPECT_THROW(decode_image(truncated, "half.jpg"), FormatError);
  const auto crop = transforms_of(R"([{"name": "center_crop", "size": 16}])");
  SampleRng rng(0);
  // Even when the region lies above the missing part: PIL refuses the file too.
  EXPECT_THROW(decode_and_apply(truncated, "half.jpg", *crop, rng), FormatError);
  EXPECT_THROW(decode_image(Bytes{0xFF, 0xD8, 0xFF, 0xE0, 1, 2}, "stub.jpg"), FormatError);
  EXPECT_THROW(decode_image(bytes, "big.jpg", {.max_pixels = 100}), FormatError);
  EXPECT_THROW(decode_and_apply(bytes, "big.jpg", *crop, rng, {.max_pixels = 100}), FormatError);
}

TEST(PartialDecodeTest, CropsAndResizesEqualTheFullDecodePath) {
  DataConfig config;
  const std::vector<std::pair<std::string, TransformPtr>> pipelines = {
      {"eval", eval_transform(config)},
      {"default", train_transform("default", config)},
      {"random interpolation",
       transforms_of(R"([{"name": "random_resized_crop", "size": 160, "interpolation": "random"}])")},
      {"center_crop", transforms_of(R"([{"name": "center_crop", "size": [101, 77]}, {"name": "vertical_flip"}])")},
      {"resize", transforms_of(R"([{"name": "resize", "size": 97, "interpolation": "lanczos"}])")},
      {"nearest", transforms_of(R"([{"name": "random_resized_crop", "size": 50, "interpolation": "nearest"}])")},
      {"flip first (no plan)", transforms_of(R"([{"name": "horizontal_flip"}, {"name": "center_crop", "size": 64}])")},
  };
  for (const auto& [variant, bytes] : jpeg_variants(333, 251)) {
    for (const auto& [name, transform] : pipelines) {
      for (std::uint64_t seed = 0; seed < 6; ++seed) {
        SampleRng full_rng(seed, 1, 2), partial_rng(seed, 1, 2);
        const Sample full = full_path(bytes, *transform, full_rng);
        const Sample partial = decode_and_apply(bytes, "test.jpg", *transform, partial_rng);
        ASSERT_EQ(partial.image.width, full.image.width) << variant << " " << name;
        ASSERT_EQ(partial.image.height, full.image.height) << variant << " " << name;
        EXPECT_EQ(partial.image.pixels, full.image.pixels) << variant << " " << name << " seed " << seed;
        EXPECT_EQ(partial_rng.next(), full_rng.next()) << "both paths draw the same numbers: " << name;
      }
    }
  }
}

TEST(PartialDecodeTest, OtherFormatsTakeTheFullPath) {
  const Image image = photo(64, 48, 5);
  cv::Mat bgr;
  cv::cvtColor(cv::Mat(48, 64, CV_8UC3, const_cast<std::uint8_t*>(image.pixels.data())), bgr, cv::COLOR_RGB2BGR);
  Bytes png;
  ASSERT_TRUE(cv::imencode(".png", bgr, png));
  const auto transform = transforms_of(R"([{"name": "random_resized_crop", "size": 20}])");
  SampleRng a(4), b(4);
  const Sample partial = decode_and_apply(png, "test.png", *transform, a);
  Sample full{image};
  transform->apply(full, b);
  EXPECT_EQ(partial.image.pixels, full.image.pixels);
}

ResizePlan plan(int roi_width, int roi_height, int size, Interpolation interpolation = Interpolation::bicubic) {
  return ResizePlan{{0, 0, roi_width, roi_height}, size, size, {0, 0, size, size}, interpolation};
}

TEST(ReducedScaleTest, TheLargestScaleThatKeepsTwiceTheOutputSize) {
  EXPECT_EQ(reduced_decode_scale(plan(1792, 1800, 224)), 4);  // 1792 / 4 = 448 = 2 × 224
  EXPECT_EQ(reduced_decode_scale(plan(1791, 1800, 224)), 2);
  EXPECT_EQ(reduced_decode_scale(plan(3584, 3584, 224)), 8);
  EXPECT_EQ(reduced_decode_scale(plan(900, 895, 224)), 1);  // both directions must allow it
  EXPECT_EQ(reduced_decode_scale(plan(500, 375, 224)), 1);
  EXPECT_EQ(reduced_decode_scale(plan(4000, 4000, 224, Interpolation::nearest)), 1);
  EXPECT_EQ(reduced_decode_scale(plan(4000, 4000, 4000)), 1);  // a crop
  ResizePlan eval = plan(1600, 1200, 256);  // timm's eval resize of a 1600x1200 photo: 341x256, crop 224
  eval.width = 341;
  eval.window = {58, 16, 224, 224};
  EXPECT_EQ(reduced_decode_scale(eval), 2);
}

// The tolerance of reduced-scale decoding, on 1600x1200 photo-like JPEGs (noise, hard edges) decoded at 1/2, 1/4
// and 1/8: against decode-everything-then-resize, the mean absolute difference stays under 1.25 gray levels
// (measured 0.4-0.9) and under 0.5% of the values differ by more than 8 (measured at most 0.27%; single values
// up to ~17 on hard edges: the DCT's downscale is a box-like filter, PIL's bicubic). With reduced_scale off the
// result is the full-scale one exactly.
TEST(ReducedScaleTest, ResultsStayCloseToTheFullScalePath) {
  const Image image = photo(1600, 1200, 9);
  const std::vector<std::pair<std::string, Bytes>> files = {{"420", encode(image)},
                                                             {"444", encode(image, {.h_sampling = 1, .v_sampling = 1})}};
  DataConfig config;
  const std::vector<std::pair<std::string, TransformPtr>> pipelines = {
      {"eval", eval_transform(config)},
      {"crop", transforms_of(R"([{"name": "random_resized_crop", "size": 224, "scale": [0.5, 1.0]}])")},
      {"small", transforms_of(R"([{"name": "random_resized_crop", "size": 64, "interpolation": "bilinear"}])")},
  };
  int reduced = 0;
  for (const auto& [variant, bytes] : files) {
    for (const auto& [name, transform] : pipelines) {
      for (std::uint64_t seed = 0; seed < 4; ++seed) {
        SampleRng full_rng(seed), exact_rng(seed), reduced_rng(seed);
        const Sample full = full_path(bytes, *transform, full_rng);
        const Sample exact = decode_and_apply(bytes, "big.jpg", *transform, exact_rng, {.reduced_scale = false});
        EXPECT_EQ(exact.image.pixels, full.image.pixels) << variant << " " << name;
        SampleRng plan_rng(seed);
        if (reduced_decode_scale(*transform->plan_resize(1600, 1200, plan_rng)) > 1) ++reduced;
        const Sample approximate = decode_and_apply(bytes, "big.jpg", *transform, reduced_rng);
        ASSERT_EQ(approximate.image.pixels.size(), full.image.pixels.size());
        const Difference d = difference(approximate.image, full.image);
        EXPECT_LT(d.mean, 1.25) << variant << " " << name << " seed " << seed;
        EXPECT_LT(d.over_8, 0.005) << variant << " " << name << " seed " << seed << " (max " << d.max << ")";
        EXPECT_EQ(reduced_rng.next(), full_rng.next());
      }
    }
  }
  EXPECT_GE(reduced, 12) << "most of these plans should decode at a reduced scale";
}

}  // namespace
}  // namespace autotimm
