// Semantic segmentation labels: SegmentationMask::decode on label files written here (gray 8- and 16-bit PNGs by
// OpenCV, real palette PNGs written byte by byte, RGB colour and panoptic PNGs), exact class maps, tables, ignore
// and every error message; and the five readers on small generated layouts, the generated shapes dataset included.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "autotimm/data/dataset.hpp"
#include "autotimm/data/segmentation_mask.hpp"
#include "autotimm/data/segmentation_readers.hpp"
#include "autotimm/data/synthetic_shapes.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"
#include "palette_png.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using autotimm::testing::error_text;
using Rgb = std::array<std::uint8_t, 3>;
using Table = std::vector<std::uint8_t>;

const std::string kMissingHint =
    " does not exist; add it, or set SegmentationReadOptions::skip_missing to leave out images without labels";

// ---- files --------------------------------------------------------------------------------------------------------

fs::path write_mat(const fs::path& path, const cv::Mat& mat) {
  fs::create_directories(path.parent_path());
  if (!cv::imwrite(path.string(), mat)) throw std::runtime_error("cv::imwrite failed: " + path.string());
  return path;
}

/// A one-row-or-more gray PNG: `values` row by row, `width` per row; 16-bit when `wide`.
fs::path write_gray(const fs::path& path, int width, const std::vector<int>& values, bool wide = false) {
  const int height = static_cast<int>(values.size()) / width;
  cv::Mat mat(height, width, wide ? CV_16UC1 : CV_8UC1);
  for (int i = 0; i < static_cast<int>(values.size()); ++i) {
    if (wide) mat.at<std::uint16_t>(i / width, i % width) = static_cast<std::uint16_t>(values[i]);
    else mat.at<std::uint8_t>(i / width, i % width) = static_cast<std::uint8_t>(values[i]);
  }
  return write_mat(path, mat);
}

/// An RGB PNG of `colours` (R, G, B), `width` per row.
fs::path write_rgb(const fs::path& path, int width, const std::vector<Rgb>& colours) {
  const int height = static_cast<int>(colours.size()) / width;
  cv::Mat mat(height, width, CV_8UC3);
  for (int i = 0; i < static_cast<int>(colours.size()); ++i) {
    const auto& c = colours[i];
    mat.at<cv::Vec3b>(i / width, i % width) = cv::Vec3b(c[2], c[1], c[0]);  // OpenCV stores BGR
  }
  return write_mat(path, mat);
}

/// The PASCAL VOC colour map by its definition: index i's bits, three at a time from bit 0, go into the top bits of
/// R, G and B (bit 3k → R bit 7-k, 3k+1 → G, 3k+2 → B).
std::array<Rgb, 256> voc_colormap() {
  std::array<Rgb, 256> map{};
  for (int i = 0; i < 256; ++i) {
    int c = i, r = 0, g = 0, b = 0;
    for (int j = 0; j < 8; ++j) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    map[i] = {static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(b)};
  }
  return map;
}

/// A palette PNG of `indices` with the VOC colour map as its palette, as VOC's SegmentationClass files are.
fs::path write_palette_png(const fs::path& path, int width, const std::vector<int>& indices) {
  const auto map = voc_colormap();
  return autotimm::testing::write_palette_png(path, width, indices, {map.begin(), map.end()});
}

/// A panoptic PNG: segment id = R + 256 G + 65536 B per pixel, one row.
fs::path write_panoptic(const fs::path& path, const std::vector<std::uint32_t>& ids) {
  std::vector<Rgb> colours;
  for (const auto id : ids) {
    colours.push_back({static_cast<std::uint8_t>(id & 0xFF), static_cast<std::uint8_t>((id >> 8) & 0xFF),
                       static_cast<std::uint8_t>((id >> 16) & 0xFF)});
  }
  return write_rgb(path, static_cast<int>(ids.size()), colours);
}

fs::path write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

/// A small colour image (the readers only check that it exists).
fs::path write_photo(const fs::path& path) { return write_mat(path, cv::Mat(4, 6, CV_8UC3, cv::Scalar(10, 90, 200))); }

std::vector<int> pixels(const Image& image) {
  EXPECT_EQ(image.channels, 1);
  return std::vector<int>(image.pixels.begin(), image.pixels.end());
}

SegmentationMask mask_of(const fs::path& path, MaskEncoding encoding, Table table, bool reject = false) {
  SegmentationMask mask;
  mask.path = path;
  mask.encoding = encoding;
  mask.value_to_class = std::make_shared<const Table>(std::move(table));
  mask.reject_values_beyond_table = reject;
  return mask;
}

Table identity(int size) {
  Table table(static_cast<std::size_t>(size));
  for (int v = 0; v < size; ++v) table[static_cast<std::size_t>(v)] = static_cast<std::uint8_t>(v);
  return table;
}

// ---- SegmentationMask::decode -------------------------------------------------------------------------------------

TEST(SegmentationMask, LabelValuesGoThroughTheTableAndValuesBeyondItAreIgnored) {
  autotimm::testing::TempDir dir;
  const auto file = write_gray(dir / "m.png", 3, {0, 1, 2, 3, 7, 255});
  const auto mask = mask_of(file, MaskEncoding::label_values, {0, 2, 1, 255});
  const auto labels = mask.decode(255);
  EXPECT_EQ(labels.width, 3);
  EXPECT_EQ(labels.height, 2);
  EXPECT_EQ(pixels(labels), (std::vector<int>{0, 2, 1, 255, 255, 255}));
  // Beyond the table is the ignore index asked for; entries in the table stay as written.
  EXPECT_EQ(pixels(mask.decode(200)), (std::vector<int>{0, 2, 1, 255, 200, 200}));
}

TEST(SegmentationMask, SixteenBitLabelValues) {
  autotimm::testing::TempDir dir;
  const auto file = write_gray(dir / "m16.png", 5, {0, 1000, 40000, 65535, 5}, true);
  Table table(1001, 255);
  table[0] = 0;
  table[5] = 1;
  table[1000] = 3;
  EXPECT_EQ(pixels(mask_of(file, MaskEncoding::label_values, table).decode(255)),
            (std::vector<int>{0, 3, 255, 255, 1}));
}

TEST(SegmentationMask, RejectingValuesBeyondTheTableNamesFilePixelAndValue) {
  autotimm::testing::TempDir dir;
  const auto good = write_gray(dir / "good.png", 5, {0, 1, 2, 3, 255});
  EXPECT_EQ(pixels(mask_of(good, MaskEncoding::label_values, identity(4), true).decode(255)),
            (std::vector<int>{0, 1, 2, 3, 255}));
  const auto bad = write_gray(dir / "bad.png", 3, {0, 1, 2, 3, 0, 7});
  EXPECT_EQ(error_text([&] { mask_of(bad, MaskEncoding::label_values, identity(4), true).decode(255); }),
            "label image '" + bad.string() +
                "' pixel (2, 1) holds value 7, which the dataset does not define (its values are 0 to 3, and 255 for "
                "ignored pixels); give the reader a class name for every value, or a class_mapping that maps (or "
                "ignores) 7");
  EXPECT_THROW(mask_of(bad, MaskEncoding::label_values, identity(4), true).decode(255), FormatError);
  // An empty table defines nothing.
  EXPECT_EQ(error_text([&] { mask_of(good, MaskEncoding::label_values, {}, true).decode(255); }),
            "label image '" + good.string() +
                "' pixel (0, 0) holds value 0, which the dataset does not define (its values are none, and 255 for "
                "ignored pixels); give the reader a class name for every value, or a class_mapping that maps (or "
                "ignores) 0");
  // 255 is a stray value too when another ignore index is asked for.
  EXPECT_THROW(mask_of(good, MaskEncoding::label_values, identity(4), true).decode(100), FormatError);
  const auto wide = write_gray(dir / "wide.png", 2, {1, 300}, true);
  EXPECT_EQ(error_text([&] { mask_of(wide, MaskEncoding::label_values, identity(4), true).decode(255); }),
            "label image '" + wide.string() +
                "' pixel (1, 0) holds value 300, which the dataset does not define (its values are 0 to 3, and 255 "
                "for ignored pixels); give the reader a class name for every value, or a class_mapping that maps (or "
                "ignores) 300");
}

TEST(SegmentationMask, VocColourMapHasTheKnownColours) {
  const auto map = voc_colormap();
  EXPECT_EQ(map[0], (Rgb{0, 0, 0}));
  EXPECT_EQ(map[1], (Rgb{128, 0, 0}));      // aeroplane
  EXPECT_EQ(map[15], (Rgb{192, 128, 128}));  // person
  EXPECT_EQ(map[20], (Rgb{0, 64, 128}));     // tvmonitor
  EXPECT_EQ(map[255], (Rgb{224, 224, 192}));  // border / void
}

TEST(SegmentationMask, VocPaletteEveryIndexFromPaletteRgbAndGrayFiles) {
  autotimm::testing::TempDir dir;
  std::vector<int> all(256);
  for (int i = 0; i < 256; ++i) all[static_cast<std::size_t>(i)] = i;
  std::vector<Rgb> colours;
  for (const int i : all) colours.push_back(voc_colormap()[static_cast<std::size_t>(i)]);
  const std::vector<fs::path> files = {write_palette_png(dir / "palette.png", 16, all),
                                       write_rgb(dir / "rgb.png", 16, colours), write_gray(dir / "gray.png", 16, all)};
  for (const auto& file : files) {
    // Identity: each pixel decodes to its own palette index.
    const auto labels = mask_of(file, MaskEncoding::voc_palette, identity(256)).decode(255);
    EXPECT_EQ(labels.width, 16) << file;
    EXPECT_EQ(pixels(labels), all) << file;
  }
  // A real VOC mask: background, person, the border, aeroplane; then through a table of the 21 classes.
  Table voc(256, 255);
  for (int i = 0; i < 21; ++i) voc[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
  const auto real = write_palette_png(dir / "2007_000032.png", 5, {0, 15, 255, 1, 21});
  EXPECT_EQ(pixels(mask_of(real, MaskEncoding::voc_palette, voc).decode(255)), (std::vector<int>{0, 15, 255, 1, 255}));
  // Strict: palette index 21 is no class.
  EXPECT_EQ(error_text([&] { mask_of(real, MaskEncoding::voc_palette, identity(21), true).decode(255); }),
            "label image '" + real.string() +
                "' pixel (4, 0) holds value 21, which the dataset does not define (its values are 0 to 20, and 255 "
                "for ignored pixels); give the reader a class name for every value, or a class_mapping that maps (or "
                "ignores) 21");
}

TEST(SegmentationMask, VocPaletteColourOutsideTheMapIsNamed) {
  autotimm::testing::TempDir dir;
  const auto file = write_rgb(dir / "blend.png", 2, {{128, 0, 0}, {10, 20, 30}});
  EXPECT_EQ(error_text([&] { mask_of(file, MaskEncoding::voc_palette, identity(21)).decode(255); }),
            "label image '" + file.string() +
                "' pixel (1, 0) has colour (10, 20, 30), which is not in the PASCAL VOC colour map; is it a VOC "
                "SegmentationClass PNG (a resized or JPEG-compressed mask blends colours)?");
  // Low bits set on an otherwise valid colour: not in the map either.
  const auto near = write_rgb(dir / "near.png", 1, {{129, 0, 0}});
  EXPECT_THROW(mask_of(near, MaskEncoding::voc_palette, identity(21)).decode(255), FormatError);
}

TEST(SegmentationMask, PanopticSegmentIdsToClasses) {
  autotimm::testing::TempDir dir;
  const std::uint32_t far = 3 * 65536 + 5;
  const auto file = write_panoptic(dir / "pan.png", {0, 1, 258, far, 999, 1, 1});
  SegmentationMask mask;
  mask.path = file;
  mask.encoding = MaskEncoding::panoptic_rgb;
  mask.segment_classes = std::make_shared<const std::unordered_map<std::uint32_t, std::uint8_t>>(
      std::unordered_map<std::uint32_t, std::uint8_t>{{0, 9}, {1, 4}, {258, 0}, {far, 7}});
  // Id 0 is void even when the table names it; unknown ids are ignored.
  EXPECT_EQ(pixels(mask.decode(255)), (std::vector<int>{255, 4, 0, 7, 255, 4, 4}));
  EXPECT_EQ(pixels(mask.decode(99)), (std::vector<int>{99, 4, 0, 7, 99, 4, 4}));
}

TEST(SegmentationMask, UnreadableFilesAndWrongKindsAreNamed) {
  autotimm::testing::TempDir dir;
  const auto missing = dir / "missing.png";
  EXPECT_EQ(error_text([&] { mask_of(missing, MaskEncoding::label_values, identity(2)).decode(255); }),
            "cannot read image '" + missing.string() + "': No such file or directory");
  EXPECT_THROW(mask_of(missing, MaskEncoding::label_values, identity(2)).decode(255), IoError);

  const auto empty = write_text(dir / "empty.png", "");
  EXPECT_EQ(error_text([&] { mask_of(empty, MaskEncoding::label_values, identity(2)).decode(255); }),
            "label image '" + empty.string() + "' is empty");
  const auto junk = write_text(dir / "junk.png", "this is not a PNG file at all");
  EXPECT_EQ(error_text([&] { mask_of(junk, MaskEncoding::label_values, identity(2)).decode(255); }),
            "cannot decode label image '" + junk.string() +
                "': not a readable PNG (or other image) file (truncated or corrupt?)");
  EXPECT_THROW(mask_of(junk, MaskEncoding::label_values, identity(2)).decode(255), FormatError);

  const auto rgb = write_rgb(dir / "rgb.png", 1, {{1, 2, 3}});
  EXPECT_EQ(error_text([&] { mask_of(rgb, MaskEncoding::label_values, identity(2)).decode(255); }),
            "label image '" + rgb.string() +
                "' is a 3-channel 8-bit image; label_values masks are one-channel (gray) images of label values. A "
                "colour or palette mask needs the voc_palette (VOC colours) or panoptic_rgb (segment ids) encoding");
  const auto wide = write_gray(dir / "wide.png", 1, {3}, true);
  EXPECT_EQ(error_text([&] { mask_of(wide, MaskEncoding::voc_palette, identity(21)).decode(255); }),
            "label image '" + wide.string() +
                "' is a 1-channel 16-bit image; voc_palette masks are 8-bit palette (or RGB) PNGs in the VOC colour "
                "map, or 8-bit gray images of palette indices");
  const auto gray = write_gray(dir / "gray.png", 1, {3});
  SegmentationMask panoptic;
  panoptic.path = gray;
  panoptic.encoding = MaskEncoding::panoptic_rgb;
  panoptic.segment_classes = std::make_shared<const std::unordered_map<std::uint32_t, std::uint8_t>>();
  EXPECT_EQ(error_text([&] { panoptic.decode(255); }),
            "label image '" + gray.string() +
                "' is a 1-channel 8-bit image; panoptic_rgb masks are 8-bit RGB PNGs with segment id = R + 256 G + "
                "65536 B");

  SegmentationMask no_table;
  no_table.path = gray;
  EXPECT_EQ(error_text([&] { no_table.decode(255); }),
            "label image '" + gray.string() +
                "': the mask has no value_to_class table; a reader fills it (build the SegmentationMask with one: raw "
                "value → class index)");
  EXPECT_THROW(no_table.decode(255), ConfigError);
  SegmentationMask no_segments;
  no_segments.path = rgb;
  no_segments.encoding = MaskEncoding::panoptic_rgb;
  EXPECT_EQ(error_text([&] { no_segments.decode(255); }),
            "label image '" + rgb.string() +
                "': the mask has no segment_classes table; a reader fills it (segment id → class index)");
}

// ---- read_png_segmentation ----------------------------------------------------------------------------------------

TEST(SegmentationPngReader, PairsImagesWithMasksOfTheSameStem) {
  autotimm::testing::TempDir dir;
  const auto images = dir / "images", masks = dir / "masks";
  write_photo(images / "a.jpg");
  write_photo(images / "b.png");
  write_photo(images / "sub" / "c.png");
  write_photo(images / ".hidden.png");
  write_text(images / "notes.txt", "not an image");
  write_gray(masks / "a.png", 4, {0, 1, 2, 255});
  write_gray(masks / "b.png", 1, {1});
  write_gray(masks / "sub" / "c.png", 1, {2});
  write_gray(masks / "no_image.png", 1, {0});

  const auto data = read_png_segmentation(images, masks, {.class_names = {"bg", "cat", "dog"}});
  ASSERT_EQ(data.records.size(), 3u);
  EXPECT_EQ(data.records[0].image, images / "a.jpg");
  EXPECT_EQ(data.records[0].mask.path, masks / "a.png");
  EXPECT_EQ(data.records[1].image, images / "b.png");
  EXPECT_EQ(data.records[1].mask.path, masks / "b.png");
  EXPECT_EQ(data.records[2].image, images / "sub" / "c.png");
  EXPECT_EQ(data.records[2].mask.path, masks / "sub" / "c.png");
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"bg", "cat", "dog"}));
  EXPECT_EQ(data.ignore_index, 255);
  EXPECT_EQ(data.source, images.string());
  for (const auto& record : data.records) {
    EXPECT_EQ(record.mask.encoding, MaskEncoding::label_values);
    EXPECT_TRUE(record.mask.reject_values_beyond_table);
    EXPECT_EQ(record.mask.value_to_class, data.records[0].mask.value_to_class);  // one table, shared
  }
  EXPECT_EQ(*data.records[0].mask.value_to_class, identity(3));
  EXPECT_EQ(pixels(data.records[0].mask.decode(data.ignore_index)), (std::vector<int>{0, 1, 2, 255}));

  // num_classes names the classes "0" … "n-1".
  const auto numbered = read_png_segmentation(images, masks, {.num_classes = 3});
  EXPECT_EQ(numbered.class_names, (std::vector<std::string>{"0", "1", "2"}));
  // Two classes: value 2 is now a stray value.
  const auto two = read_png_segmentation(images, masks, {.num_classes = 2});
  EXPECT_THROW(two.records[0].mask.decode(two.ignore_index), FormatError);
}

TEST(SegmentationPngReader, ClassMappingReplacesTheIdentityAndIgnoresWhatItDoesNotMap) {
  autotimm::testing::TempDir dir;
  write_photo(dir / "images" / "x.png");
  write_gray(dir / "masks" / "x.png", 5, {0, 10, 20, 30, 255});
  const auto data = read_png_segmentation(dir / "images", dir / "masks",
                                          {.class_names = {"bg", "fg"}, .class_mapping = {{0, 0}, {10, 1}, {20, 255}}});
  const auto& mask = data.records[0].mask;
  EXPECT_FALSE(mask.reject_values_beyond_table);
  EXPECT_EQ(mask.value_to_class->size(), 21u);
  EXPECT_EQ(pixels(mask.decode(data.ignore_index)), (std::vector<int>{0, 1, 255, 255, 255}));
  // Another ignore index: unmapped values take it.
  const auto other = read_png_segmentation(
      dir / "images", dir / "masks",
      {.class_names = {"bg", "fg"}, .class_mapping = {{0, 0}, {10, 1}, {20, 9}}, .ignore_index = 9});
  EXPECT_EQ(other.ignore_index, 9);
  EXPECT_EQ(pixels(other.records[0].mask.decode(other.ignore_index)), (std::vector<int>{0, 1, 9, 9, 9}));
}

TEST(SegmentationPngReader, MissingMasksAreNamedOrSkipped) {
  autotimm::testing::TempDir dir;
  const auto images = dir / "images", masks = dir / "masks";
  write_photo(images / "a.png");
  write_photo(images / "b.png");
  write_gray(masks / "a.png", 1, {0});
  EXPECT_EQ(error_text([&] { read_png_segmentation(images, masks, {.num_classes = 2}); }),
            "segmentation image '" + (images / "b.png").string() + "': label file '" + (masks / "b.png").string() +
                "'" + kMissingHint);
  EXPECT_THROW(read_png_segmentation(images, masks, {.num_classes = 2}), NotFoundError);
  const auto kept = read_png_segmentation(images, masks, {.num_classes = 2, .skip_missing = true});
  ASSERT_EQ(kept.records.size(), 1u);
  EXPECT_EQ(kept.records[0].image, images / "a.png");

  fs::remove(masks / "a.png");
  EXPECT_EQ(error_text([&] { read_png_segmentation(images, masks, {.num_classes = 2, .skip_missing = true}); }),
            "segmentation data '" + images.string() + "': none of its 2 images has both files; check the folders");
}

TEST(SegmentationPngReader, OptionsAndFoldersThatDoNotFit) {
  autotimm::testing::TempDir dir;
  const auto images = dir / "images", masks = dir / "masks";
  write_photo(images / "a.png");
  write_gray(masks / "a.png", 1, {0});
  const std::string reader = "read_png_segmentation('" + images.string() + "')";
  const auto read = [&](const SegmentationReadOptions& options) { read_png_segmentation(images, masks, options); };

  EXPECT_EQ(error_text([&] { read({}); }),
            reader + " needs the classes: set SegmentationReadOptions::class_names (class index → name) or "
                     "num_classes (names \"0\" … \"n-1\"); label value v is class v unless class_mapping says "
                     "otherwise");
  EXPECT_THROW(read({}), ConfigError);
  EXPECT_EQ(error_text([&] { read({.class_names = {"a", "b"}, .num_classes = 3}); }),
            reader + ": SegmentationReadOptions::num_classes is 3 but class_names lists 2 names; give one of the "
                     "two, or make them agree");
  EXPECT_EQ(error_text([&] { read({.num_classes = 300}); }),
            reader + ": SegmentationReadOptions::num_classes is 300; class indices are 8-bit, so give 1 to 255 "
                     "classes");
  EXPECT_EQ(error_text([&] { read({.class_names = {"a", "b", "a"}}); }),
            reader + ": SegmentationReadOptions::class_names lists 'a' twice; give each class once");
  EXPECT_EQ(error_text([&] { read({.num_classes = 2, .ignore_index = 1}); }),
            reader + ": SegmentationReadOptions::ignore_index 1 is a class index (there are 2 classes); set it to "
                     "at least 2 (255 is usual)");
  EXPECT_EQ(error_text([&] { read({.num_classes = 2, .class_mapping = {{3, 5}}}); }),
            reader + ": SegmentationReadOptions::class_mapping maps label value 3 to 5, which is no class: give a "
                     "class index 0 to 1, or ignore_index 255 to leave its pixels out");
  EXPECT_EQ(error_text([&] { read({.num_classes = 2, .class_mapping = {{70000, 1}}}); }),
            reader + ": SegmentationReadOptions::class_mapping maps label value 70000, outside the label values 0 "
                     "to 65535; map values the label files can hold");
  EXPECT_THROW(read({.num_classes = 2, .class_mapping = {{-1, 1}}}), ConfigError);

  const std::string layout =
      "' does not exist or is not a folder; expected images in <images_dir>/**/<name>.<ext> and their masks in "
      "<masks_dir>/**/<name>.png";
  EXPECT_EQ(error_text([&] { read_png_segmentation(dir / "nope", masks, {.num_classes = 2}); }),
            "segmentation images folder '" + (dir / "nope").string() + layout);
  EXPECT_THROW(read_png_segmentation(dir / "nope", masks, {.num_classes = 2}), NotFoundError);
  EXPECT_EQ(error_text([&] { read_png_segmentation(images, dir / "nope", {.num_classes = 2}); }),
            "segmentation masks folder '" + (dir / "nope").string() + layout);
  fs::create_directories(dir / "empty");
  EXPECT_EQ(error_text([&] { read_png_segmentation(dir / "empty", masks, {.num_classes = 2}); }),
            "segmentation images folder '" + (dir / "empty").string() + "' has no images (" +
                join_names(image_extensions()) + ")");
  write_photo(images / "a.jpg");
  EXPECT_EQ(error_text([&] { read({.num_classes = 2}); }),
            "segmentation images '" + (images / "a.jpg").string() + "' and '" + (images / "a.png").string() +
                "' have the same name, so both would take the mask '" + (masks / "a.png").string() +
                "'; rename one of them");
}

// ---- read_voc_segmentation ----------------------------------------------------------------------------------------

/// root/ImageSets/Segmentation/<split>.txt listing `ids`, with a JPEG and a palette mask (`indices`) for each.
void write_voc(const fs::path& root, const std::string& split, const std::vector<std::string>& ids,
               const std::vector<int>& indices) {
  std::string list;
  for (const auto& id : ids) {
    list += id + "\n";
    write_photo(root / "JPEGImages" / (id + ".jpg"));
    write_palette_png(root / "SegmentationClass" / (id + ".png"), static_cast<int>(indices.size()), indices);
  }
  write_text(root / "ImageSets" / "Segmentation" / (split + ".txt"), list);
}

TEST(SegmentationVocReader, ReadsTheVoc2012Layout) {
  autotimm::testing::TempDir dir;
  const auto root = dir / "VOC2012";
  write_voc(root, "train", {"2007_000039", "2007_000032"}, {0, 15, 255, 1});
  write_text(root / "ImageSets" / "Segmentation" / "train.txt", "2007_000039\r\n\n  2007_000032  \n");
  const auto data = read_voc_segmentation(root, "train");
  ASSERT_EQ(data.records.size(), 2u);
  EXPECT_EQ(data.records[0].image, root / "JPEGImages" / "2007_000039.jpg");
  EXPECT_EQ(data.records[0].mask.path, root / "SegmentationClass" / "2007_000039.png");
  EXPECT_EQ(data.records[1].image, root / "JPEGImages" / "2007_000032.jpg");
  EXPECT_EQ(data.records[0].mask.encoding, MaskEncoding::voc_palette);
  EXPECT_EQ(data.records[0].mask.value_to_class, data.records[1].mask.value_to_class);
  EXPECT_EQ(data.class_names, voc_segmentation_classes());
  ASSERT_EQ(data.class_names.size(), 21u);
  EXPECT_EQ(data.class_names[0], "background");
  EXPECT_EQ(data.class_names[15], "person");
  EXPECT_EQ(data.class_names[20], "tvmonitor");
  EXPECT_EQ(data.source, (root / "ImageSets" / "Segmentation" / "train.txt").string());
  EXPECT_EQ(pixels(data.records[0].mask.decode(data.ignore_index)), (std::vector<int>{0, 15, 255, 1}));

  // The border follows the ignore index; a mapping merges classes.
  const auto other = read_voc_segmentation(root, "train", {.ignore_index = 100});
  EXPECT_EQ(pixels(other.records[0].mask.decode(other.ignore_index)), (std::vector<int>{0, 15, 100, 1}));
  const auto people = read_voc_segmentation(
      root, "train", {.class_names = {"background", "person"}, .class_mapping = {{0, 0}, {15, 1}}});
  EXPECT_EQ(pixels(people.records[1].mask.decode(people.ignore_index)), (std::vector<int>{0, 1, 255, 255}));
}

TEST(SegmentationVocReader, ErrorsNameTheListLineAndFile) {
  autotimm::testing::TempDir dir;
  const auto root = dir / "VOC2012";
  const auto sets = root / "ImageSets" / "Segmentation";
  EXPECT_EQ(error_text([&] { read_voc_segmentation(root, "train"); }),
            "VOC split folder '" + sets.string() +
                "' does not exist or is not a folder; expected the VOC2012 layout "
                "<root>/ImageSets/Segmentation/<split>.txt, <root>/JPEGImages/<id>.jpg and "
                "<root>/SegmentationClass/<id>.png");
  write_voc(root, "train", {"a", "b"}, {0, 1});
  write_text(sets / "trainval.txt", "a\n");
  EXPECT_EQ(error_text([&] { read_voc_segmentation(root, "tran"); }),
            "VOC split list '" + (sets / "tran.txt").string() +
                "' for split 'tran' does not exist (did you mean 'train'?); splits present: train, trainval");
  EXPECT_THROW(read_voc_segmentation(root, "tran"), NotFoundError);

  const auto list = sets / "bad.txt";
  const std::string at = "VOC split list '" + list.string() + "' line ";
  write_text(list, "a\nb c\n");
  EXPECT_EQ(error_text([&] { read_voc_segmentation(root, "bad"); }),
            at + "2: 'b c' is not an image id; the list holds one id (file name without extension) per line");
  EXPECT_THROW(read_voc_segmentation(root, "bad"), FormatError);
  write_text(list, "a\nb\na\n");
  EXPECT_EQ(error_text([&] { read_voc_segmentation(root, "bad"); }),
            at + "3: id 'a' is listed again (first on line 1); list each image once");
  write_text(list, "\n \n");
  EXPECT_EQ(error_text([&] { read_voc_segmentation(root, "bad"); }),
            "VOC split list '" + list.string() + "' lists no image ids");
  EXPECT_THROW(read_voc_segmentation(root, "bad"), ConfigError);
  write_text(list, "a\nb\n");
  EXPECT_EQ(error_text([&] { read_voc_segmentation(root, "bad", {.max_file_bytes = 3}); }),
            "VOC split list '" + list.string() +
                "' is 4 bytes, over the limit of 3; raise SegmentationReadOptions::max_file_bytes if the file is "
                "right");

  fs::remove(root / "SegmentationClass" / "b.png");
  EXPECT_EQ(error_text([&] { read_voc_segmentation(root, "bad"); }),
            at + "2: label file '" + (root / "SegmentationClass" / "b.png").string() + "'" + kMissingHint);
  EXPECT_EQ(read_voc_segmentation(root, "bad", {.skip_missing = true}).records.size(), 1u);
  fs::remove(root / "JPEGImages" / "a.jpg");
  EXPECT_EQ(error_text([&] { read_voc_segmentation(root, "bad"); }),
            at + "1: image '" + (root / "JPEGImages" / "a.jpg").string() + "'" + kMissingHint);
}

// ---- read_cityscapes_segmentation ---------------------------------------------------------------------------------

TEST(SegmentationCityscapesReader, LabelIdsBecomeTrainIds) {
  autotimm::testing::TempDir dir;
  const auto root = dir / "cityscapes";
  const auto images = root / "leftImg8bit" / "train", labels = root / "gtFine" / "train";
  std::vector<int> ids(34);
  for (int id = 0; id < 34; ++id) ids[static_cast<std::size_t>(id)] = id;
  for (const std::string name : {"bochum_000000_000313", "aachen_000000_000019"}) {
    const auto city = name.substr(0, name.find('_'));
    write_photo(images / city / (name + "_leftImg8bit.png"));
    write_gray(labels / city / (name + "_gtFine_labelIds.png"), 34, ids);
    write_rgb(labels / city / (name + "_gtFine_color.png"), 1, {{128, 64, 128}});
  }
  write_text(images / "aachen" / "README.txt", "not an image");

  const auto data = read_cityscapes_segmentation(root, "train");
  ASSERT_EQ(data.records.size(), 2u);
  EXPECT_EQ(data.records[0].image, images / "aachen" / "aachen_000000_000019_leftImg8bit.png");
  EXPECT_EQ(data.records[0].mask.path, labels / "aachen" / "aachen_000000_000019_gtFine_labelIds.png");
  EXPECT_EQ(data.records[1].mask.path, labels / "bochum" / "bochum_000000_000313_gtFine_labelIds.png");
  EXPECT_EQ(data.class_names, cityscapes_segmentation_classes());
  ASSERT_EQ(data.class_names.size(), 19u);
  EXPECT_EQ(data.class_names[0], "road");
  EXPECT_EQ(data.class_names[6], "traffic light");
  EXPECT_EQ(data.class_names[18], "bicycle");
  // labelId → trainId by name (cityscapesScripts labels.py): road 7 → 0, sidewalk 8 → 1, building 11 → 2,
  // wall 12 → 3, fence 13 → 4, pole 17 → 5, traffic light 19 → 6, traffic sign 20 → 7, vegetation 21 → 8,
  // terrain 22 → 9, sky 23 → 10, person 24 → 11, rider 25 → 12, car 26 → 13, truck 27 → 14, bus 28 → 15,
  // train 31 → 16, motorcycle 32 → 17, bicycle 33 → 18; every other id is ignored.
  std::vector<int> expected(34, 255);
  const std::vector<std::pair<int, int>> train_ids = {{7, 0},   {8, 1},   {11, 2},  {12, 3},  {13, 4},
                                                      {17, 5},  {19, 6},  {20, 7},  {21, 8},  {22, 9},
                                                      {23, 10}, {24, 11}, {25, 12}, {26, 13}, {27, 14},
                                                      {28, 15}, {31, 16}, {32, 17}, {33, 18}};
  for (const auto& [id, train_id] : train_ids) expected[static_cast<std::size_t>(id)] = train_id;
  EXPECT_EQ(pixels(data.records[0].mask.decode(data.ignore_index)), expected);

  // Ids stop at 33: a larger value (an instanceIds or color file given by mistake) is an error.
  const auto wrong = write_gray(labels / "aachen" / "aachen_000000_000019_gtFine_labelIds.png", 3, {7, 255, 34});
  EXPECT_EQ(error_text([&] { data.records[0].mask.decode(data.ignore_index); }),
            "label image '" + wrong.string() +
                "' pixel (2, 0) holds value 34, which the dataset does not define (its values are 0 to 33, and 255 "
                "for ignored pixels); give the reader a class name for every value, or a class_mapping that maps (or "
                "ignores) 34");
  // A class_mapping replaces the table: only cars, everything else ignored.
  const auto cars = read_cityscapes_segmentation(root, "train", {.class_names = {"car"}, .class_mapping = {{26, 0}}});
  EXPECT_EQ(pixels(cars.records[1].mask.decode(cars.ignore_index))[26], 0);
  EXPECT_EQ(pixels(cars.records[1].mask.decode(cars.ignore_index))[7], 255);
}

TEST(SegmentationCityscapesReader, MissingFoldersAndLabelsAreNamed) {
  autotimm::testing::TempDir dir;
  const auto root = dir / "cityscapes";
  const std::string layout = "expected the Cityscapes layout <root>/leftImg8bit/<split>/<city>/*_leftImg8bit.png "
                             "with <root>/gtFine/<split>/<city>/*_gtFine_labelIds.png";
  EXPECT_EQ(error_text([&] { read_cityscapes_segmentation(root, "val"); }),
            "Cityscapes images folder '" + (root / "leftImg8bit").string() +
                "' does not exist or is not a folder; " + layout);
  const auto image = write_photo(root / "leftImg8bit" / "val" / "lindau" / "lindau_000000_000019_leftImg8bit.png");
  fs::create_directories(root / "leftImg8bit" / "train");
  EXPECT_EQ(error_text([&] { read_cityscapes_segmentation(root, "vall"); }),
            "Cityscapes images folder '" + (root / "leftImg8bit" / "vall").string() +
                "' for split 'vall' does not exist (did you mean 'val'?); splits present: train, val");
  EXPECT_THROW(read_cityscapes_segmentation(root, "vall"), NotFoundError);
  EXPECT_EQ(error_text([&] { read_cityscapes_segmentation(root, "val"); }),
            "Cityscapes labels folder '" + (root / "gtFine" / "val").string() +
                "' does not exist or is not a folder; " + layout);
  fs::create_directories(root / "gtFine" / "val");
  EXPECT_EQ(error_text([&] { read_cityscapes_segmentation(root, "val"); }),
            "Cityscapes image '" + image.string() + "': label file '" +
                (root / "gtFine" / "val" / "lindau" / "lindau_000000_000019_gtFine_labelIds.png").string() + "'" +
                kMissingHint);
  fs::create_directories(root / "gtFine" / "train");
  EXPECT_EQ(error_text([&] { read_cityscapes_segmentation(root, "train"); }),
            "Cityscapes images folder '" + (root / "leftImg8bit" / "train").string() +
                "' has no *_leftImg8bit.png images; " + layout);
}

// ---- read_coco_panoptic_segmentation ------------------------------------------------------------------------------

const char* const kPanopticJson = R"({
  "images": [{"id": 10, "file_name": "a.jpg"}, {"id": 11, "file_name": "b.jpg"}, {"id": 12, "file_name": "c.jpg"}],
  "annotations": [
    {"image_id": 11, "file_name": "b.png",
     "segments_info": [{"id": 1, "category_id": 5}, {"id": 258, "category_id": 1, "iscrowd": 1}]},
    {"image_id": 10, "file_name": "a.png", "segments_info": [{"id": 196613, "category_id": 3}]}
  ],
  "categories": [{"id": 5, "name": "sky"}, {"id": 1, "name": "person"}, {"id": 3, "name": "car"}]
})";

struct PanopticFiles {
  fs::path json, images, panoptic;
};

PanopticFiles write_panoptic_dataset(const fs::path& dir, const std::string& json = kPanopticJson) {
  PanopticFiles files{write_text(dir / "panoptic.json", json), dir / "images", dir / "panoptic"};
  for (const char* name : {"a", "b", "c"}) write_photo(files.images / (std::string(name) + ".jpg"));
  write_panoptic(files.panoptic / "b.png", {0, 1, 258, 999});
  write_panoptic(files.panoptic / "a.png", {196613, 0});
  return files;
}

using SegmentClasses = std::unordered_map<std::uint32_t, std::uint8_t>;

TEST(SegmentationCocoPanopticReader, CategoriesInIdOrderBecomeClasses) {
  autotimm::testing::TempDir dir;
  const auto files = write_panoptic_dataset(dir.path());
  const auto data = read_coco_panoptic_segmentation(files.json, files.images, files.panoptic);
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"person", "car", "sky"}));
  EXPECT_EQ(data.source, files.json.string());
  ASSERT_EQ(data.records.size(), 2u);  // c.jpg has no annotation
  EXPECT_EQ(data.records[0].image, files.images / "b.jpg");
  EXPECT_EQ(data.records[0].mask.path, files.panoptic / "b.png");
  EXPECT_EQ(data.records[0].mask.encoding, MaskEncoding::panoptic_rgb);
  EXPECT_EQ(*data.records[0].mask.segment_classes, (SegmentClasses{{1, 2}, {258, 0}}));
  EXPECT_EQ(data.records[1].image, files.images / "a.jpg");
  EXPECT_EQ(*data.records[1].mask.segment_classes, (SegmentClasses{{196613, 1}}));
  EXPECT_EQ(pixels(data.records[0].mask.decode(data.ignore_index)), (std::vector<int>{255, 2, 0, 255}));
  EXPECT_EQ(pixels(data.records[1].mask.decode(data.ignore_index)), (std::vector<int>{1, 255}));

  // A mapping by category id: person → thing, sky → stuff, car (unmapped) ignored.
  const auto mapped = read_coco_panoptic_segmentation(
      files.json, files.images, files.panoptic, {.class_names = {"thing", "stuff"}, .class_mapping = {{1, 0}, {5, 1}}});
  EXPECT_EQ(*mapped.records[0].mask.segment_classes, (SegmentClasses{{1, 1}, {258, 0}}));
  EXPECT_EQ(*mapped.records[1].mask.segment_classes, (SegmentClasses{{196613, 255}}));
  EXPECT_EQ(pixels(mapped.records[1].mask.decode(mapped.ignore_index)), (std::vector<int>{255, 255}));
}

TEST(SegmentationCocoPanopticReader, MalformedEntriesAreNamed) {
  autotimm::testing::TempDir dir;
  const auto files = write_panoptic_dataset(dir.path());
  const auto json_with = [&](const std::string& annotations, const std::string& categories =
                                                                 R"([{"id": 1, "name": "person"}])") {
    write_text(files.json, R"({"images": [{"id": 10, "file_name": "a.jpg"}], "annotations": )" + annotations +
                               R"(, "categories": )" + categories + "}");
  };
  const auto read = [&] { read_coco_panoptic_segmentation(files.json, files.images, files.panoptic); };
  const std::string file = "COCO panoptic annotations '" + files.json.string() + "'";

  write_text(files.json, "{not json");
  EXPECT_TRUE(error_text(read).starts_with(file + " are not valid JSON: ")) << error_text(read);
  EXPECT_THROW(read(), FormatError);
  json_with(R"([{"image_id": 10, "file_name": "a.png", "segments_info": [{"id": 1, "category_id": 9}]}])");
  EXPECT_EQ(error_text(read), file + ": the annotation of image 10, segment 1: category_id 9 is not in 'categories'");
  json_with(R"([{"image_id": 10, "file_name": "a.png", "segments_info": [{"id": 0, "category_id": 1}]}])");
  EXPECT_EQ(error_text(read), file + ": the annotation of image 10, segment 0: segment ids are 1 to 16777215 (R + "
                                     "256 G + 65536 B of the PNG; 0 is unlabelled)");
  json_with(R"([{"image_id": 10, "file_name": "a.png", "segments_info": [{"id": 16777216, "category_id": 1}]}])");
  EXPECT_THROW(read(), FormatError);
  json_with(R"([{"image_id": 10, "file_name": "a.png",
                 "segments_info": [{"id": 1, "category_id": 1}, {"id": 1, "category_id": 1}]}])");
  EXPECT_EQ(error_text(read), file + ": the annotation of image 10, segment 1 is given twice");
  json_with(R"([{"image_id": 99, "file_name": "a.png", "segments_info": []}])");
  EXPECT_EQ(error_text(read), file + ": the annotation of image 99: image_id 99 is not in 'images'");
  json_with(R"([{"image_id": 10, "file_name": "a.png"}])");
  EXPECT_EQ(error_text(read), file + ": the annotation of image 10: expected an array 'segments_info'");
  json_with(R"([{"image_id": 10, "file_name": "a.png", "segments_info": [{"id": 1, "category_id": "1"}]}])");
  EXPECT_EQ(error_text(read), file + ": the annotation of image 10, segment 1: expected an integer 'category_id'");
  json_with(R"([{"image_id": 10, "file_name": "a.png", "segments_info": []},
                {"image_id": 10, "file_name": "a.png", "segments_info": []}])");
  EXPECT_EQ(error_text(read), file + ": the annotation of image 10 is given twice");
  json_with("[]", R"([{"id": 1, "name": "a"}, {"id": 1, "name": "b"}])");
  EXPECT_EQ(error_text(read), file + ": category 1 is listed twice");
  json_with("[]", "[]");
  EXPECT_EQ(error_text(read),
            file + ": 'categories' is empty; a panoptic file lists the categories its segments use");

  json_with(R"([{"image_id": 10, "file_name": "missing.png", "segments_info": []}])");
  EXPECT_EQ(error_text(read), file + ", the annotation of image 10: label file '" +
                                  (files.panoptic / "missing.png").string() + "'" + kMissingHint);
  EXPECT_THROW(read(), NotFoundError);

  const std::string reader = "read_coco_panoptic_segmentation('" + files.json.string() + "')";
  json_with("[]", R"([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])");
  EXPECT_EQ(error_text([&] {
              read_coco_panoptic_segmentation(files.json, files.images, files.panoptic,
                                              {.class_names = {"x"}, .class_mapping = {{4, 0}}});
            }),
            reader + ": SegmentationReadOptions::class_mapping maps category id 4, which is not in 'categories'; map "
                     "the file's category ids");
  EXPECT_EQ(error_text([&] {
              read_coco_panoptic_segmentation(files.json, files.images, files.panoptic, {.class_names = {"x"}});
            }),
            reader + ": the file has 2 categories but 1 class names are given; give one name per category, or a "
                     "class_mapping");
}

// ---- read_csv_segmentation ----------------------------------------------------------------------------------------

TEST(SegmentationCsvReader, PathsRelativeToTheCsvOrTheRoot) {
  autotimm::testing::TempDir dir;
  const auto data_dir = dir / "data";
  write_photo(data_dir / "img" / "a.png");
  write_gray(data_dir / "lbl" / "a.png", 2, {1, 0});
  const auto absolute_image = write_photo(dir / "elsewhere" / "b.jpg");
  const auto absolute_mask = write_gray(dir / "elsewhere" / "b.png", 2, {255, 1});
  const auto csv = write_text(data_dir / "train.csv", "mask,split,image\nlbl/a.png,train,img/a.png\n" +
                                                          absolute_mask.string() + ",train," +
                                                          absolute_image.string() + "\n");
  const auto data = read_csv_segmentation(csv, {}, {.class_names = {"bg", "fg"}});
  ASSERT_EQ(data.records.size(), 2u);
  EXPECT_EQ(data.records[0].image, data_dir / "img" / "a.png");
  EXPECT_EQ(data.records[0].mask.path, data_dir / "lbl" / "a.png");
  EXPECT_EQ(data.records[1].image, absolute_image);
  EXPECT_EQ(data.records[1].mask.path, absolute_mask);
  EXPECT_EQ(data.source, csv.string());
  EXPECT_EQ(data.records[0].mask.value_to_class, data.records[1].mask.value_to_class);
  EXPECT_EQ(pixels(data.records[0].mask.decode(data.ignore_index)), (std::vector<int>{1, 0}));
  EXPECT_EQ(pixels(data.records[1].mask.decode(data.ignore_index)), (std::vector<int>{255, 1}));

  // Relative to image_root instead.
  const auto listed = write_text(dir / "lists" / "train.csv", "image,mask\nimg/a.png,lbl/a.png\n");
  const auto rooted = read_csv_segmentation(listed, data_dir, {.num_classes = 2});
  EXPECT_EQ(rooted.records[0].image, data_dir / "img" / "a.png");
  EXPECT_EQ(rooted.records[0].mask.path, data_dir / "lbl" / "a.png");
}

TEST(SegmentationCsvReader, ErrorsNameTheLineAndColumn) {
  autotimm::testing::TempDir dir;
  write_photo(dir / "a.png");
  write_gray(dir / "a_mask.png", 1, {0});
  const auto csv = dir / "list.csv";
  const std::string file = "segmentation CSV '" + csv.string() + "'";
  const auto read = [&] { read_csv_segmentation(csv, {}, {.num_classes = 2}); };

  write_text(csv, "image,label\na.png,1\n");
  EXPECT_EQ(error_text(read), file + ": missing column 'mask'; expected a header naming image,mask (any order, "
                                     "other columns ignored), got: image, label");
  EXPECT_THROW(read(), FormatError);
  write_text(csv, "path,label\na.png,1\n");
  EXPECT_EQ(error_text(read), file + ": missing columns 'image', 'mask'; expected a header naming image,mask (any "
                                     "order, other columns ignored), got: path, label");
  write_text(csv, "image,mask\n");
  EXPECT_EQ(error_text(read), file + " has a header but no rows");
  EXPECT_THROW(read(), ConfigError);
  write_text(csv, "image,mask\na.png,a_mask.png\na.png,\n");
  EXPECT_EQ(error_text(read), file + " line 3, column 'mask': the path is empty");
  write_text(csv, "image,mask\na.png,a_mask.png\nb.png,a_mask.png\n");
  EXPECT_EQ(error_text(read), file + " line 3: image '" + (dir / "b.png").string() + "'" + kMissingHint);
  EXPECT_THROW(read(), NotFoundError);
  EXPECT_EQ(read_csv_segmentation(csv, {}, {.num_classes = 2, .skip_missing = true}).records.size(), 1u);
  EXPECT_EQ(error_text([&] { read_csv_segmentation(csv, {}, {.num_classes = 2, .max_file_bytes = 10}); }),
            file + " is " + std::to_string(fs::file_size(csv)) +
                " bytes, over the limit of 10; raise SegmentationReadOptions::max_file_bytes if the file is right");
  EXPECT_EQ(error_text([&] { read_csv_segmentation(csv); }),
            "read_csv_segmentation('" + csv.string() +
                "') needs the classes: set SegmentationReadOptions::class_names (class index → name) or num_classes "
                "(names \"0\" … \"n-1\"); label value v is class v unless class_mapping says otherwise");
}

// ---- the generated shapes dataset ---------------------------------------------------------------------------------

TEST(SegmentationShapes, GeneratedMasksDecodeToTheirClasses) {
  autotimm::testing::TempDir dir;
  const ShapesDatasetOptions options{
      .out = dir.path(), .train_images = 3, .val_images = 2, .image_size = 64, .min_object_size = 12,
      .max_object_size = 24, .seed = 5, .task = ShapesTask::segmentation};
  write_shapes_dataset(options);
  std::vector<std::string> names = {"background"};
  for (const auto& name : shape_category_names()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"background", "rectangle", "ellipse", "triangle"}));

  const std::vector<std::pair<std::string, std::int64_t>> splits = {{"train", 3}, {"val", 2}};
  std::array<std::int64_t, 4> class_pixels{};
  for (std::uint64_t s = 0; s < splits.size(); ++s) {
    const auto& [split, count] = splits[s];
    const auto data =
        read_png_segmentation(dir / ("images/" + split), dir / ("masks/" + split), {.class_names = names});
    ASSERT_EQ(data.records.size(), static_cast<std::size_t>(count)) << split;
    EXPECT_EQ(data.class_names, names);
    for (std::int64_t i = 0; i < count; ++i) {
      const auto& record = data.records[static_cast<std::size_t>(i)];
      const auto labels = record.mask.decode(data.ignore_index);
      const auto expected = make_shapes_sample(options, s + 1, i).mask;  // the split's seed as the writer uses it
      ASSERT_EQ(labels.width, 64);
      ASSERT_EQ(labels.height, 64);
      EXPECT_EQ(labels.pixels, expected.pixels) << record.mask.path;
      for (const auto value : labels.pixels) {
        ASSERT_LT(value, 4) << record.mask.path;
        ++class_pixels[value];
      }
    }
  }
  for (int c = 0; c < 4; ++c) EXPECT_GT(class_pixels[static_cast<std::size_t>(c)], 0) << names[c];
}

}  // namespace
}  // namespace autotimm
