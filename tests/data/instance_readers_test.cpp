// Instance masks as the readers find them: COCO `segmentation` (polygons kept as written, compressed and uncompressed
// RLEs decoded to known masks, crowd regions), the CSV reader with one mask PNG per object (boxes and areas from the
// masks' pixels, class mapping, images without objects), decode_instance_mask for every source kind (polygons
// rasterised as COCO does, RLEs, gray / 16-bit / RGB / RGBA / palette PNGs), and every error message.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "autotimm/data/coco_detection.hpp"
#include "autotimm/data/csv_instances.hpp"
#include "autotimm/data/decode.hpp"
#include "autotimm/data/instance_masks.hpp"
#include "autotimm/data/rle.hpp"
#include "autotimm/error.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"
#include "palette_png.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using autotimm::testing::error_text;
using Box = std::array<double, 4>;
using Rows = std::vector<std::string>;  // a mask drawn row by row: '1' is the object

// ---- masks and files ----------------------------------------------------------------------------------------------

/// A one-channel mask of `rows` with `value` where a row has '1'.
Image mask_image(const Rows& rows, std::uint8_t value = 1) {
  Image mask(static_cast<int>(rows[0].size()), static_cast<int>(rows.size()), 1);
  for (int y = 0; y < mask.height; ++y) {
    for (int x = 0; x < mask.width; ++x) mask.at(x, y, 0) = rows[y][x] == '1' ? value : 0;
  }
  return mask;
}

/// A one-channel 0/1 mask drawn back as rows, so a failure shows the picture; anything else is '?'.
Rows rows_of(const Image& mask) {
  Rows rows;
  for (int y = 0; y < mask.height; ++y) {
    std::string row;
    for (int x = 0; x < mask.width; ++x) {
      const auto v = mask.at(x, y, 0);
      row += mask.channels != 1 ? '?' : v == 0 ? '0' : v == 1 ? '1' : '?';
    }
    rows.push_back(row);
  }
  return rows;
}

fs::path write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

fs::path write_mat(const fs::path& path, const cv::Mat& mat) {
  fs::create_directories(path.parent_path());
  if (!cv::imwrite(path.string(), mat)) throw std::runtime_error("cv::imwrite failed: " + path.string());
  return path;
}

/// A gray 8-bit PNG mask (255 on the object) written by the project's writer.
fs::path write_mask(const fs::path& path, const Rows& rows) {
  fs::create_directories(path.parent_path());
  write_image(path, mask_image(rows, 255));
  return path;
}

/// An RGB image of the given size written by OpenCV (format by extension), for the CSV's images.
fs::path write_photo(const fs::path& path, int width, int height) {
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<std::uint8_t>(x * 20), 90, 7);
  }
  return write_mat(path, image);
}

/// A palette PNG of indices '0'..'9' drawn as rows, with `palette` (R, G, B per index).
fs::path write_palette_png(const fs::path& path, const Rows& rows,
                           const std::vector<std::array<std::uint8_t, 3>>& palette) {
  std::vector<int> indices;
  for (const auto& row : rows) {
    for (const char c : row) indices.push_back(c - '0');
  }
  return autotimm::testing::write_palette_png(path, static_cast<int>(rows[0].size()), indices, palette);
}

// ---- the COCO fixture ------------------------------------------------------------------------------------------

// Image 1 is 5 wide, 4 high. Its compressed RLE "261K9" holds the runs 2, 6, 1, 1, 10 (COCO's string form: from the
// 4th run on each is written as its difference to the run two before, 1 - 6 = -5 being 'K'); column-major, that is
// pixels 2-7 and 9, drawn here row by row.
const Rows kCompressedMask = {"01000",
                              "01100",
                              "11000",
                              "11000"};
// The crowd region's uncompressed runs 5, 3, 12: pixels 5-7, column 1 below its top row.
const Rows kCrowdMask = {"00000",
                         "01000",
                         "01000",
                         "01000"};

constexpr const char* kCategories = R"("categories": [{"id": 3, "name": "car"}, {"id": 1, "name": "person"}])";
constexpr const char* kImages = R"("images": [{"id": 1, "file_name": "a.png", "width": 5, "height": 4},
                                             {"id": 2, "file_name": "b.png", "width": 6, "height": 5}])";

/// An instances file of kImages and kCategories with `annotations` (the JSON array's inside).
fs::path write_coco(const autotimm::testing::TempDir& dir, const std::string& annotations) {
  return write_text(dir / "instances.json", std::string("{") + kImages + ", " + kCategories +
                                                ", \"annotations\": [" + annotations + "]}");
}

/// One annotation of image 1 (category 1, a 2×2 box) with `segmentation` as given, or none when empty.
std::string annotation(int id, const std::string& segmentation, int image_id = 1) {
  return "{\"id\": " + std::to_string(id) + ", \"image_id\": " + std::to_string(image_id) +
         ", \"category_id\": 1, \"bbox\": [1, 1, 2, 2]" +
         (segmentation.empty() ? std::string() : ", \"segmentation\": " + segmentation) + "}";
}

// ---- COCO segmentation ---------------------------------------------------------------------------------------

TEST(CocoInstances, PolygonsAndCompressedAndUncompressedRles) {
  autotimm::testing::TempDir dir;
  const auto file = write_coco(dir, R"(
      {"id": 10, "image_id": 2, "category_id": 3, "bbox": [0, 1, 4, 4], "area": 8,
       "segmentation": [[1, 1, 4, 1, 4, 3, 1, 3], [0.25, 3, 2, 3.5e0, 2, 5, 0, 5]]},
      {"id": 11, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 4], "area": 7,
       "segmentation": {"size": [4, 5], "counts": "261K9"}},
      {"id": 12, "image_id": 1, "category_id": 3, "bbox": [1, 1, 1, 3], "area": 3, "iscrowd": 1,
       "segmentation": {"counts": [5, 3, 12], "size": [4, 5]}})");
  const auto data = read_coco_detection(file, dir.path(), {.read_segmentation = true});
  ASSERT_EQ(data.records.size(), 2u);
  ASSERT_EQ(data.records[0].annotations.size(), 2u);
  ASSERT_EQ(data.records[1].annotations.size(), 1u);

  // Polygons stay as written (numbers of any JSON form), parts in order; nothing else is set.
  const auto& polygons = data.records[1].annotations[0].segmentation;
  EXPECT_EQ(polygons.polygons, (std::vector<std::vector<double>>{{1, 1, 4, 1, 4, 3, 1, 3},
                                                                 {0.25, 3, 2, 3.5, 2, 5, 0, 5}}));
  EXPECT_FALSE(polygons.rle);
  EXPECT_TRUE(polygons.png.empty());

  const auto& compressed = data.records[0].annotations[0];
  EXPECT_EQ(compressed.id, 11);
  EXPECT_FALSE(compressed.iscrowd);
  ASSERT_TRUE(compressed.segmentation.rle);
  EXPECT_TRUE(compressed.segmentation.polygons.empty());
  EXPECT_EQ(compressed.segmentation.rle->height, 4);
  EXPECT_EQ(compressed.segmentation.rle->width, 5);
  EXPECT_EQ(compressed.segmentation.rle->counts, (std::vector<std::uint32_t>{2, 6, 1, 1, 10}));
  EXPECT_EQ(rows_of(rle_decode(*compressed.segmentation.rle)), kCompressedMask);

  const auto& crowd = data.records[0].annotations[1];
  EXPECT_EQ(crowd.id, 12);
  EXPECT_TRUE(crowd.iscrowd);
  EXPECT_EQ(crowd.label, 1);  // category 3: labels follow ascending ids
  ASSERT_TRUE(crowd.segmentation.rle);
  EXPECT_EQ(crowd.segmentation.rle->counts, (std::vector<std::uint32_t>{5, 3, 12}));
  EXPECT_EQ(rows_of(rle_decode(*crowd.segmentation.rle)), kCrowdMask);
  // The boxes and areas are the file's, as without masks.
  EXPECT_EQ(crowd.box, (Box{1, 1, 2, 4}));
  EXPECT_DOUBLE_EQ(crowd.area, 3.0);
}

TEST(CocoInstances, WithoutReadSegmentationNothingIsParsed) {
  autotimm::testing::TempDir dir;
  // Masks that would be refused, and an annotation without one: boxes only, as before.
  const auto file = write_coco(dir, annotation(1, R"({"size": [9, 9], "counts": "!!"})") + ", " + annotation(2, "") +
                                        ", " + annotation(3, "\"nonsense\""));
  const auto data = read_coco_detection(file, dir.path());
  ASSERT_EQ(data.records[0].annotations.size(), 3u);
  for (const auto& a : data.records[0].annotations) {
    EXPECT_TRUE(a.segmentation.empty());
    EXPECT_EQ(a.box, (Box{1, 1, 3, 3}));
  }
}

TEST(CocoInstances, DroppedBoxesStillNeedValidMasks) {
  autotimm::testing::TempDir dir;
  // A zero-width box is left out and counted as before, but its mask is still checked: the file is wrong either way.
  const auto good = write_coco(dir, R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 0, 2],
                                        "segmentation": [[1, 1, 2, 1, 2, 2]]})");
  const auto data = read_coco_detection(good, dir.path(), {.read_segmentation = true});
  EXPECT_TRUE(data.records[0].annotations.empty());
  EXPECT_EQ(data.dropped_degenerate, 1);
  const auto bad = write_coco(dir, R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 0, 2]})");
  EXPECT_THROW(read_coco_detection(bad, dir.path(), {.read_segmentation = true}), FormatError);
}

TEST(CocoInstances, SegmentationErrorsNameFileAnnotationAndFix) {
  autotimm::testing::TempDir dir;
  const std::string where = "COCO annotations '" + (dir / "instances.json").string() + "': annotation 7";
  const auto read = [&](const std::string& segmentation, int image_id = 1) {
    const auto file = write_coco(dir, annotation(7, segmentation, image_id));
    return error_text([&] { read_coco_detection(file, dir.path(), {.read_segmentation = true}); });
  };
  const std::string forms =
      "polygons (a list of [x1, y1, x2, y2, ...] lists) or an RLE object {\"size\": [height, width], \"counts\": ...}";
  const std::string missing = where + ": has no 'segmentation'; CocoReadOptions::read_segmentation needs every "
                                      "annotation's mask (" + forms + "): add it, or read boxes only";
  EXPECT_EQ(read(""), missing);
  EXPECT_EQ(read("[]"), missing);
  EXPECT_EQ(read("{}"), missing);
  EXPECT_EQ(read("null"), missing);
  {
    const auto file = write_coco(dir, annotation(7, ""));
    EXPECT_THROW(read_coco_detection(file, dir.path(), {.read_segmentation = true}), FormatError);
  }

  EXPECT_EQ(read("\"polygon\""), where + " segmentation: expected " + forms);
  EXPECT_EQ(read("[[1, 1, 2, 1, 2, 2], 5]"),
            where + " segmentation polygon 1: expected a list of x, y numbers; a segmentation is " + forms);
  EXPECT_EQ(read("[[1, 1, 2, 1]]"), where + " segmentation polygon 0: expected x, y pairs of at least 3 points (an "
                                            "even count of 6 or more numbers), got 4 numbers");
  EXPECT_EQ(read("[[1, 1, 2, 1, 2, 2], [1, 1, 2, 1, 2, 2, 3]]"),
            where + " segmentation polygon 1: expected x, y pairs of at least 3 points (an even count of 6 or more "
                    "numbers), got 7 numbers");
  EXPECT_EQ(read("[[]]"), where + " segmentation polygon 0: expected x, y pairs of at least 3 points (an even count "
                                  "of 6 or more numbers), got 0 numbers");
  EXPECT_EQ(read("[[1, 1, 2, \"1\", 2, 2]]"), where + " segmentation polygon 0: expected a number");

  // RLEs: the size must be the image's, [height, width].
  EXPECT_EQ(read(R"({"size": [5, 4], "counts": [20]})"),
            where + " segmentation: the RLE's size [5, 4] is not image 1's [height, width] [4, 5]; an RLE covers its "
                    "whole image: encode it at the image's size");
  EXPECT_EQ(read(R"({"size": [4, 5], "counts": [30]})", 2),
            where + " segmentation: the RLE's size [4, 5] is not image 2's [height, width] [5, 6]; an RLE covers its "
                    "whole image: encode it at the image's size");
  EXPECT_EQ(read(R"({"counts": [20]})"), where + " segmentation: expected an array 'size'");
  EXPECT_EQ(read(R"({"size": [4, 5, 1], "counts": [20]})"),
            where + " segmentation: 'size' must be [height, width], got 3 numbers");
  EXPECT_EQ(read(R"({"size": [4, 5.5], "counts": [20]})"), where + " segmentation size: expected an integer");
  EXPECT_EQ(read(R"({"size": [4, 5]})"),
            where + " segmentation: expected 'counts', a string (compressed RLE) or an array of run lengths");
  EXPECT_EQ(read(R"({"size": [4, 5], "counts": 20})"),
            where + " segmentation: expected 'counts', a string (compressed RLE) or an array of run lengths");
  EXPECT_EQ(read(R"({"size": [4, 5], "counts": [5, 3.5, 12]})"), where + " segmentation counts: expected an integer");
  // Malformed runs: the RLE code's own message (what exactly is wrong), after the file and the annotation.
  for (const auto* bad : {R"({"size": [4, 5], "counts": [5, 3]})", R"({"size": [4, 5], "counts": [5, -3, 18]})",
                          R"({"size": [4, 5], "counts": "26"})", R"({"size": [4, 5], "counts": "26~K9"})"}) {
    const auto text = read(bad);
    EXPECT_EQ(text.rfind(where + " segmentation: ", 0), 0u) << bad << " → " << text;
    EXPECT_GT(text.size(), (where + " segmentation: ").size()) << bad;
    const auto file = write_coco(dir, annotation(7, bad));
    EXPECT_THROW(read_coco_detection(file, dir.path(), {.read_segmentation = true}), FormatError) << bad;
  }
}

// ---- decode_instance_mask ------------------------------------------------------------------------------------

TEST(InstanceMasks, PolygonsAreRasterisedAsCocoDoes) {
  // COCO's rleFrPoly on integer corners covers [x1, x2) × [y1, y2): the rectangle (1,1)-(4,3) is columns 1-3 of
  // rows 1-2, and (0,3)-(2,5) columns 0-1 of rows 3-4; parts are merged by union. The image is 6 wide, 5 high.
  const InstanceMaskSource source{.polygons = {{1, 1, 4, 1, 4, 3, 1, 3}, {0, 3, 2, 3, 2, 5, 0, 5}}};
  const auto mask = decode_instance_mask(source, 6, 5, "object 1");
  EXPECT_EQ(mask.width, 6);
  EXPECT_EQ(mask.height, 5);
  EXPECT_EQ(mask.channels, 1);
  EXPECT_EQ(rows_of(mask), (Rows{"000000",
                                 "011100",
                                 "011100",
                                 "110000",
                                 "110000"}));
  EXPECT_EQ(rows_of(decode_instance_mask({.polygons = {{1, 1, 4, 1, 4, 3, 1, 3}}}, 6, 5, "x")),
            (Rows{"000000", "011100", "011100", "000000", "000000"}));
}

TEST(InstanceMasks, RlesAreExpandedAtTheirSize) {
  const InstanceMaskSource source{.rle = rle_from_counts({2, 6, 1, 1, 10}, 4, 5)};
  EXPECT_EQ(rows_of(decode_instance_mask(source, 5, 4, "annotation 3")), kCompressedMask);
  EXPECT_EQ(error_text([&] { decode_instance_mask(source, 4, 5, "annotation 3 of image 'a.png'"); }),
            "annotation 3 of image 'a.png': the RLE mask is 5x4 pixels but its image is 4x5; an RLE covers its whole "
            "image: encode it at the image's size");
  EXPECT_THROW(decode_instance_mask(source, 4, 5, "x"), FormatError);
}

TEST(InstanceMasks, GrayRgbAlphaAndPalettePngs) {
  autotimm::testing::TempDir dir;
  const Rows shape = {"0110", "0011", "1000"};  // 4 wide, 3 high
  const auto decode = [](const fs::path& png) { return rows_of(decode_instance_mask({.png = png}, 4, 3, "obj")); };

  // Gray 8-bit, 255 on the object (the project's writer), and 0 / 1 values.
  EXPECT_EQ(decode(write_mask(dir / "gray255.png", shape)), shape);
  cv::Mat ones(3, 4, CV_8UC1, cv::Scalar(0));
  ones.at<std::uint8_t>(0, 1) = ones.at<std::uint8_t>(0, 2) = ones.at<std::uint8_t>(1, 2) = 1;
  ones.at<std::uint8_t>(1, 3) = ones.at<std::uint8_t>(2, 0) = 1;
  EXPECT_EQ(decode(write_mat(dir / "gray1.png", ones)), shape);
  // 16-bit: value 1 is the object (scaling to 8 bits would lose it).
  cv::Mat wide(3, 4, CV_16UC1, cv::Scalar(0));
  wide.at<std::uint16_t>(0, 1) = 1;
  wide.at<std::uint16_t>(0, 2) = 256;
  wide.at<std::uint16_t>(1, 2) = 65535;
  wide.at<std::uint16_t>(1, 3) = 2;
  wide.at<std::uint16_t>(2, 0) = 1;
  EXPECT_EQ(decode(write_mat(dir / "gray16.png", wide)), shape);
  // RGB: nonzero in any one channel is the object.
  cv::Mat rgb(3, 4, CV_8UC3, cv::Scalar(0, 0, 0));
  rgb.at<cv::Vec3b>(0, 1) = {1, 0, 0};
  rgb.at<cv::Vec3b>(0, 2) = {0, 1, 0};
  rgb.at<cv::Vec3b>(1, 2) = {0, 0, 1};
  rgb.at<cv::Vec3b>(1, 3) = {200, 100, 50};
  rgb.at<cv::Vec3b>(2, 0) = {0, 0, 255};
  EXPECT_EQ(decode(write_mat(dir / "rgb.png", rgb)), shape);
  // RGBA: alpha alone is not the object (a mask exported opaque everywhere would otherwise be all object).
  cv::Mat rgba(3, 4, CV_8UC4, cv::Scalar(0, 0, 0, 255));
  rgba.at<cv::Vec4b>(0, 1) = {0, 0, 9, 255};
  rgba.at<cv::Vec4b>(0, 2) = {9, 0, 0, 0};
  rgba.at<cv::Vec4b>(1, 2) = {0, 9, 0, 255};
  rgba.at<cv::Vec4b>(1, 3) = {9, 9, 9, 128};
  rgba.at<cv::Vec4b>(2, 0) = {0, 0, 1, 255};
  EXPECT_EQ(decode(write_mat(dir / "rgba.png", rgba)), shape);
  // A palette PNG: index 0 black, 1 and 2 coloured (as VOC-style object PNGs are).
  const auto palette = write_palette_png(dir / "palette.png", {"0120", "0021", "1000"},
                                         {{0, 0, 0}, {128, 0, 0}, {0, 0, 64}});
  EXPECT_EQ(decode(palette), shape);
}

TEST(InstanceMasks, PngErrorsNameWhereBothSizesAndFix) {
  autotimm::testing::TempDir dir;
  const auto png = write_mask(dir / "m.png", {"0110", "0011", "1000"});
  EXPECT_EQ(error_text([&] { decode_instance_mask({.png = png}, 3, 4, "object 2 of 'a.jpg'"); }),
            "object 2 of 'a.jpg': mask PNG '" + png.string() +
                "' is 4x3 pixels but its image is 3x4; a mask covers its whole image pixel for pixel: write it at the "
                "image's size");
  EXPECT_THROW(decode_instance_mask({.png = png}, 3, 4, "x"), FormatError);

  const auto garbage = write_text(dir / "garbage.png", "not a png at all");
  EXPECT_EQ(error_text([&] { decode_instance_mask({.png = garbage}, 4, 3, "obj"); }),
            "obj: cannot decode mask PNG '" + garbage.string() +
                "': not a readable PNG (or other image) file (truncated or corrupt?)");
  EXPECT_THROW(decode_instance_mask({.png = garbage}, 4, 3, "obj"), FormatError);
  const auto empty = write_text(dir / "empty.png", "");
  EXPECT_EQ(error_text([&] { decode_instance_mask({.png = empty}, 4, 3, "obj"); }),
            "obj: mask PNG '" + empty.string() + "' is empty");

  const auto gone = dir / "gone.png";
  EXPECT_THROW(decode_instance_mask({.png = gone}, 4, 3, "obj"), IoError);
  EXPECT_EQ(error_text([&] { decode_instance_mask({.png = gone}, 4, 3, "obj"); }),
            "obj: cannot read image '" + gone.string() + "': No such file or directory");
}

TEST(InstanceMasks, EmptyAmbiguousAndBadSizes) {
  EXPECT_THROW(decode_instance_mask({}, 4, 3, "annotation 9"), FormatError);
  EXPECT_EQ(error_text([] { decode_instance_mask({}, 4, 3, "annotation 9"); }),
            "annotation 9: the object has no mask (no polygons, RLE or PNG); read the annotations with masks "
            "(CocoReadOptions::read_segmentation, or a CSV with a mask column)");
  const InstanceMaskSource both{.polygons = {{0, 0, 2, 0, 2, 2}}, .png = "m.png"};
  EXPECT_THROW(decode_instance_mask(both, 4, 3, "annotation 9"), ConfigError);
  EXPECT_EQ(error_text([&] { decode_instance_mask(both, 4, 3, "annotation 9"); }),
            "annotation 9: the mask source holds more than one of polygons, RLE and PNG; set exactly one");
  EXPECT_THROW(decode_instance_mask({.polygons = {{0, 0, 2, 0, 2, 2}}}, 0, 3, "annotation 9"), ConfigError);
  EXPECT_EQ(error_text([] { decode_instance_mask({.polygons = {{0, 0, 2, 0, 2, 2}}}, 4, -1, "annotation 9"); }),
            "annotation 9: cannot decode a mask at 4x-1; give the image's width and height (both positive)");
  // A malformed polygon (the readers check them, a hand-built source may not be): the RLE code's message after where.
  const auto text = error_text([] { decode_instance_mask({.polygons = {{0, 0, 2, 0}}}, 4, 3, "annotation 9"); });
  EXPECT_EQ(text.rfind("annotation 9: ", 0), 0u) << text;
  EXPECT_THROW(decode_instance_mask({.polygons = {{0, 0, 2, 0}}}, 4, 3, "annotation 9"), FormatError);
}

TEST(CocoInstances, ReadSourcesDecodeToTheirMasks) {
  autotimm::testing::TempDir dir;
  const auto file = write_coco(dir, annotation(1, R"({"size": [4, 5], "counts": "261K9"})") + ", " +
                                        annotation(2, R"({"size": [4, 5], "counts": [5, 3, 12]})") + ", " +
                                        annotation(3, "[[1, 0, 3, 0, 3, 2, 1, 2]]"));
  const auto data = read_coco_detection(file, dir.path(), {.read_segmentation = true});
  const auto& record = data.records[0];
  ASSERT_EQ(record.annotations.size(), 3u);
  const auto decode = [&](std::size_t k) {
    return rows_of(decode_instance_mask(record.annotations[k].segmentation, record.width, record.height, "a"));
  };
  EXPECT_EQ(decode(0), kCompressedMask);
  EXPECT_EQ(decode(1), kCrowdMask);
  EXPECT_EQ(decode(2), (Rows{"01100", "01100", "00000", "00000"}));
}

// ---- read_csv_instances --------------------------------------------------------------------------------------

/// imgs/a.jpg 6x4, imgs/b.png 5x3, imgs/c.bmp 4x4; masks for a and b under masks/.
struct CsvFixture {
  autotimm::testing::TempDir dir;
  CsvFixture() {
    write_photo(dir / "imgs/a.jpg", 6, 4);
    write_photo(dir / "imgs/b.png", 5, 3);
    write_photo(dir / "imgs/c.bmp", 4, 4);
    write_mask(dir / "masks/a0.png", {"000000",
                                      "001100",
                                      "000110",
                                      "000000"});  // box (2, 1)-(5, 3), 4 pixels
    write_mask(dir / "masks/a1.png", {"100000",
                                      "000000",
                                      "000000",
                                      "000001"});  // opposite corners: the whole image's box, 2 pixels
    write_mask(dir / "masks/a_empty.png", {"000000", "000000", "000000", "000000"});
    write_mask(dir / "masks/b0.png", {"00000",
                                      "00010",
                                      "00000"});  // one pixel: (3, 1)-(4, 2)
    write_mask(dir / "masks/b1.png", {"11111",
                                      "11111",
                                      "11111"});  // the whole image
  }
  fs::path csv(const std::string& body, const std::string& header = "label,extra,mask,image") const {
    return write_text(dir / "objects.csv", header + "\n" + body);
  }
};

TEST(InstanceCsv, BoxesAndAreasComeFromTheMasks) {
  CsvFixture f;
  // Columns in another order with an extra one; b first, so it is image 0.
  const auto csv = f.csv(
      "dog,x,masks/b0.png,imgs/b.png\n"
      "cat,x,masks/a0.png,imgs/a.jpg\n"
      ",x,,imgs/c.bmp\n"
      "cat,x,masks/a_empty.png,imgs/a.jpg\n"  // empty: left out, counted
      "dog,x,masks/a1.png,imgs/./a.jpg\n"     // the same image, written another way
      "cat,x,\"masks/b1.png\",imgs/b.png\n");
  const auto data = read_csv_instances(csv);
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(data.category_ids, (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(data.dropped_degenerate, 1);
  EXPECT_EQ(data.dropped_small, 0);
  ASSERT_EQ(data.records.size(), 3u);

  const auto& b = data.records[0];
  EXPECT_EQ(b.image, f.dir / "imgs/b.png");
  EXPECT_EQ(b.image_id, 0);
  EXPECT_EQ(b.width, 5);
  EXPECT_EQ(b.height, 3);
  ASSERT_EQ(b.annotations.size(), 2u);
  EXPECT_EQ(b.annotations[0].box, (Box{3, 1, 4, 2}));
  EXPECT_DOUBLE_EQ(b.annotations[0].area, 1.0);
  EXPECT_EQ(b.annotations[0].label, 1);
  EXPECT_EQ(b.annotations[0].category_id, 1);
  EXPECT_EQ(b.annotations[0].id, 1);
  EXPECT_FALSE(b.annotations[0].iscrowd);
  EXPECT_EQ(b.annotations[0].segmentation.png, f.dir / "masks/b0.png");
  EXPECT_TRUE(b.annotations[0].segmentation.polygons.empty());
  EXPECT_FALSE(b.annotations[0].segmentation.rle);
  EXPECT_EQ(b.annotations[1].box, (Box{0, 0, 5, 3}));
  EXPECT_DOUBLE_EQ(b.annotations[1].area, 15.0);
  EXPECT_EQ(b.annotations[1].label, 0);
  EXPECT_EQ(b.annotations[1].id, 5);

  const auto& a = data.records[1];
  EXPECT_EQ(a.image, f.dir / "imgs/a.jpg");
  EXPECT_EQ(a.image_id, 1);
  EXPECT_EQ(a.width, 6);
  EXPECT_EQ(a.height, 4);
  ASSERT_EQ(a.annotations.size(), 2u);
  EXPECT_EQ(a.annotations[0].box, (Box{2, 1, 5, 3}));
  EXPECT_DOUBLE_EQ(a.annotations[0].area, 4.0);
  EXPECT_EQ(a.annotations[0].label, 0);
  EXPECT_EQ(a.annotations[0].id, 2);
  EXPECT_EQ(a.annotations[1].box, (Box{0, 0, 6, 4}));
  EXPECT_DOUBLE_EQ(a.annotations[1].area, 2.0);
  EXPECT_EQ(a.annotations[1].label, 1);
  EXPECT_EQ(a.annotations[1].id, 4);  // object 3 (the empty mask) was dropped

  const auto& c = data.records[2];
  EXPECT_EQ(c.image_id, 2);
  EXPECT_EQ(c.width, 4);
  EXPECT_EQ(c.height, 4);
  EXPECT_TRUE(c.annotations.empty());

  // The kept source decodes to the mask that was written.
  EXPECT_EQ(rows_of(decode_instance_mask(a.annotations[0].segmentation, a.width, a.height, "a0")),
            (Rows{"000000", "001100", "000110", "000000"}));
  // Box and area agree with COCO's RLE rules (toBbox, area) on the same pixels.
  const auto rle = rle_encode(decode_instance_mask(a.annotations[1].segmentation, a.width, a.height, "a1"));
  EXPECT_EQ(rle.box(), a.annotations[1].box);
  EXPECT_EQ(static_cast<double>(rle.area()), a.annotations[1].area);
}

TEST(InstanceCsv, ClassNamesImageRootAndAbsolutePaths) {
  CsvFixture f;
  const auto csv = write_text(f.dir / "lists/val.csv",
                              "image,mask,label\n"
                              "imgs/a.jpg,masks/a0.png,cat\n"
                              + (f.dir / "imgs/b.png").string() + "," + (f.dir / "masks/b0.png").string() + ",dog\n");
  const auto data = read_csv_instances(csv, f.dir.path(), {.class_names = {"dog", "bird", "cat"}});
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"dog", "bird", "cat"}));
  EXPECT_EQ(data.category_ids, (std::vector<std::int64_t>{0, 1, 2}));
  ASSERT_EQ(data.records.size(), 2u);
  EXPECT_EQ(data.records[0].image, f.dir / "imgs/a.jpg");
  EXPECT_EQ(data.records[0].annotations[0].segmentation.png, f.dir / "masks/a0.png");
  EXPECT_EQ(data.records[0].annotations[0].label, 2);
  EXPECT_EQ(data.records[0].annotations[0].category_id, 2);
  EXPECT_EQ(data.records[1].image, f.dir / "imgs/b.png");  // absolute paths stay as they are
  EXPECT_EQ(data.records[1].annotations[0].segmentation.png, f.dir / "masks/b0.png");
  EXPECT_EQ(data.records[1].annotations[0].label, 0);
  EXPECT_EQ(data.records[1].annotations[0].box, (Box{3, 1, 4, 2}));

  // Only images without objects: no classes unless given.
  const auto empty = read_csv_instances(f.csv(",x,,imgs/c.bmp\n,x,,imgs/a.jpg\n"));
  EXPECT_TRUE(empty.class_names.empty());
  ASSERT_EQ(empty.records.size(), 2u);
  EXPECT_TRUE(empty.records[0].annotations.empty());
  EXPECT_EQ(empty.records[1].image_id, 1);
}

TEST(InstanceCsv, ErrorsNameFileLineAndColumn) {
  CsvFixture f;
  const auto csv = f.dir / "objects.csv";
  const std::string file = "instance CSV '" + csv.string() + "'";
  const std::string line2 = file + " line 2", line3 = file + " line 3";
  const auto read = [&](const std::string& body, const CsvInstanceOptions& options = {}) {
    f.csv(body);
    return error_text([&] { read_csv_instances(csv, {}, options); });
  };
  EXPECT_EQ(read("cat,x,,imgs/a.jpg\n"),
            line2 + ", column 'mask' is empty; an object fills mask and label, an image without objects leaves both "
                    "empty");
  EXPECT_EQ(read("cat,x,masks/a0.png,imgs/a.jpg\n,x,masks/a0.png,imgs/a.jpg\n"),
            line3 + ", column 'label' is empty; an object fills mask and label, an image without objects leaves both "
                    "empty");
  EXPECT_THROW(read_csv_instances(csv), FormatError);
  EXPECT_EQ(read("cat,x,masks/a0.png,\n"), line2 + ", column 'image': the image path is empty");
  EXPECT_EQ(read("cot,x,masks/a0.png,imgs/a.jpg\n", {.class_names = {"cat", "dog"}}),
            line2 + ", column 'label': label 'cot' is not one of the classes (did you mean 'cat'?): cat, dog");
  EXPECT_THROW(read_csv_instances(f.csv("cow,x,masks/a0.png,imgs/a.jpg\n"), {}, {.class_names = {"cat"}}),
               ConfigError);
  EXPECT_EQ(read("cat,x,masks/a0.png,imgs/a.jpg\n", {.class_names = {"cat", "dog", "cat"}}),
            "CsvInstanceOptions::class_names lists 'cat' twice; give each class once");
  EXPECT_EQ(read(""), file + " has a header but no rows");
  EXPECT_THROW(read_csv_instances(f.csv("")), ConfigError);

  // Masks are decoded while reading: a mask of another image's size, a broken or missing one.
  EXPECT_EQ(read("cat,x,masks/a0.png,imgs/a.jpg\ncat,x,masks/a0.png,imgs/b.png\n"),
            line3 + ", column 'mask': mask PNG '" + (f.dir / "masks/a0.png").string() +
                "' is 6x4 pixels but its image is 5x3; a mask covers its whole image pixel for pixel: write it at the "
                "image's size");
  write_text(f.dir / "masks/broken.png", "garbage");
  EXPECT_EQ(read("cat,x,masks/broken.png,imgs/a.jpg\n"),
            line2 + ", column 'mask': cannot decode mask PNG '" + (f.dir / "masks/broken.png").string() +
                "': not a readable PNG (or other image) file (truncated or corrupt?)");
  EXPECT_EQ(read("cat,x,masks/gone.png,imgs/a.jpg\n"),
            line2 + ", column 'mask': cannot read image '" + (f.dir / "masks/gone.png").string() +
                "': No such file or directory");
  EXPECT_THROW(read_csv_instances(csv), IoError);
  // Images are measured when first seen; their errors carry the CSV line.
  EXPECT_EQ(read("cat,x,masks/a0.png,imgs/gone.jpg\n"),
            line2 + ": cannot read image '" + (f.dir / "imgs/gone.jpg").string() + "': No such file or directory");
  write_text(f.dir / "imgs/cut.png", std::string("\x89PNG\r\n\x1a\n\0\0", 10));
  EXPECT_EQ(read("cat,x,masks/a0.png,imgs/cut.png\n").rfind(line2 + ": cannot read the size of image '", 0), 0u);

  f.csv("cat,imgs/a.jpg\n", "label,image");
  EXPECT_EQ(error_text([&] { read_csv_instances(csv); }),
            file + ": missing column 'mask'; expected a header naming image,mask,label (any order, other columns "
                   "ignored), got: label, image");
  f.csv("a.jpg,cat\n", "path,class");
  EXPECT_THROW(read_csv_instances(csv), FormatError);
  EXPECT_EQ(error_text([&] { read_csv_instances(csv); }),
            file + ": missing columns 'image', 'mask', 'label'; expected a header naming image,mask,label (any order, "
                   "other columns ignored), got: path, class");

  const auto big = f.csv("cat,x,masks/a0.png,imgs/a.jpg\n");
  EXPECT_EQ(error_text([&] { read_csv_instances(big, {}, {.max_file_bytes = 10}); }),
            file + " is " + std::to_string(fs::file_size(big)) +
                " bytes, over the limit of 10; raise CsvInstanceOptions::max_file_bytes if the file is right");
}

}  // namespace
}  // namespace autotimm
