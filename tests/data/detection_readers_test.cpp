// The CSV and YOLO detection readers and the header-only image size reader under them: exact boxes, labels and ids
// from small generated datasets (real images written by OpenCV), class mapping, images without objects, and every
// error message. read_image_dimensions is internal to libautotimm: this test compiles image_dimensions.cpp itself.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "autotimm/data/csv_detection.hpp"
#include "autotimm/data/yolo_detection.hpp"
#include "autotimm/error.hpp"
#include "image_dimensions.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using autotimm::testing::error_text;
using Bytes = std::vector<std::uint8_t>;
using Box = std::array<double, 4>;

constexpr const char* kDamaged = "; the file is damaged: export it again or leave it out";

/// A width × height image written by OpenCV (format by extension), with a gradient so encoders have work to do.
fs::path write_cv_image(const fs::path& path, int width, int height, std::vector<int> params = {}, bool gray = false) {
  fs::create_directories(path.parent_path());
  cv::Mat image(height, width, gray ? CV_8UC1 : CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const auto value = static_cast<std::uint8_t>((x * 7 + y * 13) % 256);
      if (gray) image.at<std::uint8_t>(y, x) = value;
      else image.at<cv::Vec3b>(y, x) = cv::Vec3b(value, static_cast<std::uint8_t>(255 - value), 90);
    }
  }
  if (!cv::imwrite(path.string(), image, params)) throw std::runtime_error("cv::imwrite failed: " + path.string());
  return path;
}

fs::path write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

fs::path write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
  return path;
}

/// A JPEG marker segment: FF <marker>, a big-endian length counting itself, the payload.
Bytes segment(std::uint8_t marker, const Bytes& payload) {
  const auto length = payload.size() + 2;
  Bytes bytes = {0xFF, marker, static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length & 0xFF)};
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return bytes;
}

/// A frame header payload: 8-bit precision, height, width, three components.
Bytes frame(int width, int height) {
  return {8, static_cast<std::uint8_t>(height >> 8), static_cast<std::uint8_t>(height & 0xFF),
          static_cast<std::uint8_t>(width >> 8), static_cast<std::uint8_t>(width & 0xFF), 3,
          1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1};
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

data::ImageDimensions dims(const fs::path& path) { return data::read_image_dimensions(path); }

std::string size_of(const fs::path& path) {
  const auto d = dims(path);
  return std::to_string(d.width) + "x" + std::to_string(d.height);
}

// ---- read_image_dimensions -------------------------------------------------------------------------------------

TEST(ImageDimensions, FilesWrittenByOpenCvOfOddSizes) {
  autotimm::testing::TempDir dir;
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{37, 23}, {1, 1}, {301, 7}, {5, 517}}) {
    const std::string expected = std::to_string(w) + "x" + std::to_string(h);
    const std::string stem = "img_" + expected;
    EXPECT_EQ(size_of(write_cv_image(dir / (stem + ".jpg"), w, h)), expected);
    EXPECT_EQ(size_of(write_cv_image(dir / (stem + "_progressive.jpg"), w, h, {cv::IMWRITE_JPEG_PROGRESSIVE, 1})),
              expected);
    EXPECT_EQ(size_of(write_cv_image(dir / (stem + "_gray.jpg"), w, h, {}, true)), expected);
    EXPECT_EQ(size_of(write_cv_image(dir / (stem + ".png"), w, h)), expected);
    EXPECT_EQ(size_of(write_cv_image(dir / (stem + "_gray.png"), w, h, {}, true)), expected);
    EXPECT_EQ(size_of(write_cv_image(dir / (stem + ".bmp"), w, h)), expected);
    EXPECT_EQ(size_of(write_cv_image(dir / (stem + "_gray.bmp"), w, h, {}, true)), expected);
    // No header parser for these: they are decoded and measured.
    EXPECT_EQ(size_of(write_cv_image(dir / (stem + ".tiff"), w, h)), expected);
    EXPECT_EQ(size_of(write_cv_image(dir / (stem + ".webp"), w, h)), expected);
  }
}

TEST(ImageDimensions, JpegSegmentsBeforeTheFrameHeaderAreSkipped) {
  autotimm::testing::TempDir dir;
  // An APP1 whose payload holds what looks like a frame header, a comment, DHT / JPG / DAC segments (FFC4, FFC8,
  // FFCC: in the SOF range but not frame headers) shaped like 999x999 frames, fill bytes, a restart marker and
  // stray bytes before a marker (skipped, as libjpeg skips them).
  const Bytes fake = frame(999, 999);
  const Bytes header = concat({{0xFF, 0xD8}, segment(0xE1, concat({{'E', 'x', 'i', 'f', 0, 0, 0xFF, 0xC0}, fake})),
                               segment(0xFE, {'h', 'i'}), segment(0xC4, fake), {0xFF, 0xFF, 0xFF},
                               segment(0xC8, fake), {0xFF, 0xD0, 0x12, 0x34, 0xFF, 0x00},
                               segment(0xCC, fake), segment(0xDB, Bytes(65, 1))});
  // Every frame header kind: SOF0-3, 5-7, 9-11, 13-15.
  for (const std::uint8_t marker : {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}) {
    const auto file = write_bytes(dir / "segments.jpg", concat({header, segment(marker, frame(513, 77))}));
    const auto d = dims(file);
    EXPECT_EQ(d.width, 513) << "marker FF" << std::hex << int(marker);
    EXPECT_EQ(d.height, 77) << "marker FF" << std::hex << int(marker);
  }
  // A real file with an EXIF-like APP1 inserted after SOI still decodes, and measures the same.
  auto real = read_bytes(write_cv_image(dir / "real.jpg", 45, 31));
  const auto app1 = segment(0xE1, Bytes(300, 0xFF));
  real.insert(real.begin() + 2, app1.begin(), app1.end());
  const auto with_app1 = write_bytes(dir / "with_app1.jpg", real);
  EXPECT_EQ(cv::imread(with_app1.string()).cols, 45);
  EXPECT_EQ(size_of(with_app1), "45x31");
  // Only the header is read: a file cut in its scan data is still measured (decoding it is the loader's error).
  auto cut = read_bytes(dir / "real.jpg");
  cut.resize(cut.size() - 40);
  EXPECT_EQ(size_of(write_bytes(dir / "cut.jpg", cut)), "45x31");
}

TEST(ImageDimensions, GifAndBmpHeaders) {
  autotimm::testing::TempDir dir;
  Bytes gif = {'G', 'I', 'F', '8', '9', 'a', 0x35, 0x01, 0x07, 0x00, 0xF0, 0, 0};
  EXPECT_EQ(size_of(write_bytes(dir / "a.gif", gif)), "309x7");
  gif[4] = '7';
  EXPECT_EQ(size_of(write_bytes(dir / "b.gif", gif)), "309x7");
  // An OS/2 core header (12 bytes, 16-bit sizes) and a top-down Windows header (negative height).
  Bytes core = {'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 26, 0, 0, 0, 12, 0, 0, 0, 0x03, 0x01, 0x09, 0x00, 1, 0, 24, 0};
  EXPECT_EQ(size_of(write_bytes(dir / "core.bmp", core)), "259x9");
  auto top_down = read_bytes(write_cv_image(dir / "top_down.bmp", 13, 6));
  const std::int32_t negative = -6;
  std::memcpy(top_down.data() + 22, &negative, 4);  // little-endian host, as BMP
  EXPECT_EQ(size_of(write_bytes(dir / "top_down.bmp", top_down)), "13x6");
}

TEST(ImageDimensions, TruncatedHeadersAreNamed) {
  autotimm::testing::TempDir dir;
  const auto truncated = [&](const fs::path& file, const std::string& format) {
    return "cannot read the size of image '" + file.string() + "': truncated " + format +
           " header (the file ends after " + std::to_string(fs::file_size(file)) + " bytes)" + kDamaged;
  };
  const auto cut = [&](const fs::path& file, std::size_t size) {
    auto bytes = read_bytes(file);
    bytes.resize(size);
    return write_bytes(file.parent_path() / ("cut_" + file.filename().string()), bytes);
  };
  const auto jpeg = write_cv_image(dir / "a.jpg", 37, 23);
  for (const std::size_t size : {2, 3, 10, 21}) {
    const auto file = cut(jpeg, size);
    EXPECT_EQ(error_text([&] { dims(file); }), truncated(file, "JPEG")) << size;
  }
  // Cut inside the frame header itself.
  const auto sof = write_bytes(dir / "sof.jpg", concat({{0xFF, 0xD8}, segment(0xC0, frame(8, 8))}));
  const auto sof_cut = cut(sof, 8);
  EXPECT_EQ(error_text([&] { dims(sof_cut); }), truncated(sof_cut, "JPEG"));
  for (const std::size_t size : {4, 12, 23}) {
    const auto file = cut(write_cv_image(dir / "a.png", 37, 23), size);
    EXPECT_EQ(error_text([&] { dims(file); }), truncated(file, "PNG")) << size;
  }
  for (const std::size_t size : {2, 17, 25}) {
    const auto file = cut(write_cv_image(dir / "a.bmp", 37, 23), size);
    EXPECT_EQ(error_text([&] { dims(file); }), truncated(file, "BMP")) << size;
  }
  const auto gif = write_bytes(dir / "short.gif", {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1});
  EXPECT_EQ(error_text([&] { dims(gif); }), truncated(gif, "GIF"));
}

TEST(ImageDimensions, GarbledHeadersAreNamed) {
  autotimm::testing::TempDir dir;
  const auto garbled = [&](const fs::path& file, const std::string& format, const std::string& what) {
    return "cannot read the size of image '" + file.string() + "': garbled " + format + " header: " + what + kDamaged;
  };
  const auto png = read_bytes(write_cv_image(dir / "a.png", 37, 23));
  auto bad = png;
  bad[14] = 'X';
  auto file = write_bytes(dir / "chunk.png", bad);
  EXPECT_EQ(error_text([&] { dims(file); }),
            garbled(file, "PNG", "the first chunk is 'IHXR' of 13 bytes, expected 'IHDR' of 13 bytes"));
  bad = png;
  bad[6] = 0;
  file = write_bytes(dir / "signature.png", bad);
  EXPECT_EQ(error_text([&] { dims(file); }), garbled(file, "PNG", "the 8-byte signature is wrong"));
  bad = png;
  std::fill(bad.begin() + 16, bad.begin() + 20, 0);
  file = write_bytes(dir / "zero.png", bad);
  EXPECT_EQ(error_text([&] { dims(file); }),
            garbled(file, "PNG", "IHDR gives a 0x23 image, expected 1 to 2^31-1 pixels each way"));

  const Bytes soi = {0xFF, 0xD8};
  file = write_bytes(dir / "length.jpg", concat({soi, {0xFF, 0xE0, 0x00, 0x01}}));
  EXPECT_EQ(error_text([&] { dims(file); }),
            garbled(file, "JPEG", "marker FFE0 at byte 2 has segment length 1, expected at least 2"));
  file = write_bytes(dir / "scan.jpg", concat({soi, segment(0xDB, {1, 2}), segment(0xDA, {1, 2, 3})}));
  EXPECT_EQ(error_text([&] { dims(file); }),
            garbled(file, "JPEG", "scan marker FFDA at byte 8 before any frame header (SOFn)"));
  file = write_bytes(dir / "eoi.jpg", concat({soi, {0xFF, 0xD9}}));
  EXPECT_EQ(error_text([&] { dims(file); }),
            garbled(file, "JPEG", "end-of-image marker FFD9 at byte 2 before any frame header (SOFn)"));
  file = write_bytes(dir / "soi.jpg", concat({soi, soi}));
  EXPECT_EQ(error_text([&] { dims(file); }), garbled(file, "JPEG", "a second start-of-image marker FFD8 at byte 2"));
  auto short_frame = frame(8, 8);
  short_frame.resize(9);  // three components announced, fewer given
  file = write_bytes(dir / "frame.jpg", concat({soi, segment(0xC2, short_frame)}));
  EXPECT_EQ(error_text([&] { dims(file); }),
            garbled(file, "JPEG",
                    "frame header (marker FFC2 at byte 2) has length 11 for 3 components, expected 8 + 3 per "
                    "component"));
  file = write_bytes(dir / "width.jpg", concat({soi, segment(0xC0, frame(0, 8))}));
  EXPECT_EQ(error_text([&] { dims(file); }),
            garbled(file, "JPEG", "frame header (marker FFC0 at byte 2) gives width 0"));
  // Height 0 leaves it to a DNL marker: the decoder decides, and this file is no image it can read.
  file = write_bytes(dir / "dnl.jpg", concat({soi, segment(0xC0, frame(8, 0))}));
  EXPECT_NE(error_text([&] { dims(file); }).find("cannot decode image '" + file.string() + "'"), std::string::npos);

  file = write_bytes(dir / "version.gif", {'G', 'I', 'F', '8', '8', 'a', 1, 0, 1, 0});
  EXPECT_EQ(error_text([&] { dims(file); }), garbled(file, "GIF", "version '88a', expected 87a or 89a"));
  file = write_bytes(dir / "zero.gif", {'G', 'I', 'F', '8', '9', 'a', 4, 0, 0, 0});
  EXPECT_EQ(error_text([&] { dims(file); }), garbled(file, "GIF", "logical screen of 4x0 pixels"));

  auto bmp = read_bytes(write_cv_image(dir / "a.bmp", 37, 23));
  bad = bmp;
  bad[14] = 200;
  file = write_bytes(dir / "dib.bmp", bad);
  EXPECT_EQ(error_text([&] { dims(file); }), garbled(file, "BMP", "DIB header of 200 bytes, expected 12 or 16 to 124"));
  bad = bmp;
  std::fill(bad.begin() + 18, bad.begin() + 22, 0);
  file = write_bytes(dir / "width.bmp", bad);
  EXPECT_EQ(error_text([&] { dims(file); }), garbled(file, "BMP", "DIB header gives a 0x23 image"));

  file = write_bytes(dir / "empty.png", {});
  EXPECT_EQ(error_text([&] { dims(file); }),
            "cannot read the size of image '" + file.string() + "': the file is empty");
  file = write_text(dir / "notes.jpg", "not an image at all");
  EXPECT_THROW(dims(file), FormatError);  // no known signature: the decoder's error
  EXPECT_NE(error_text([&] { dims(file); }).find("cannot decode image '" + file.string() + "'"), std::string::npos);
  EXPECT_THROW(dims(dir / "missing.png"), IoError);
  EXPECT_EQ(error_text([&] { dims(dir / "missing.png"); }),
            "cannot read image '" + (dir / "missing.png").string() + "': No such file or directory");
}

// ---- read_csv_detection --------------------------------------------------------------------------------------

struct CsvFixture {
  autotimm::testing::TempDir dir;
  CsvFixture() {
    write_cv_image(dir / "imgs/a.jpg", 37, 23);
    write_cv_image(dir / "imgs/b.png", 64, 48);
    write_cv_image(dir / "imgs/c.bmp", 20, 10);
  }
  fs::path csv(const std::string& body,
               const std::string& header = "label,extra,y2,image,x1,x2,y1") const {
    return write_text(dir / "boxes.csv", header + "\n" + body);
  }
};

TEST(CsvDetection, BoxesRecordsAndClasses) {
  CsvFixture f;
  // Columns in another order with an extra one; b first, so it is image 0.
  const auto csv = f.csv(
      "dog,x,22,imgs/b.png,1,11,2\n"
      "cat,x,5,imgs/a.jpg,0,10.5,0\n"
      "cat,x,6,imgs/b.png,3,5,4\n"
      ",x,,imgs/c.bmp,,,\n"
      "cat,x,9,imgs/a.jpg,5,5,5\n"              // zero width: dropped
      "dog,x,1,imgs/b.png,0,1,0\n"              // area 1 < min_bbox_area 2: dropped
      "dog,x,\"20\",imgs/./a.jpg,2.5,30,1e1\n"  // the same image, written another way
      ",x,,imgs/c.bmp,,,\n");
  const auto data = read_csv_detection(csv, {}, {.min_bbox_area = 2.0});
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(data.category_ids, (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(data.dropped_degenerate, 1);
  EXPECT_EQ(data.dropped_small, 1);
  ASSERT_EQ(data.records.size(), 3u);

  const auto& b = data.records[0];
  EXPECT_EQ(b.image, f.dir / "imgs/b.png");
  EXPECT_EQ(b.image_id, 0);
  EXPECT_EQ(b.width, 64);
  EXPECT_EQ(b.height, 48);
  ASSERT_EQ(b.annotations.size(), 2u);
  EXPECT_EQ(b.annotations[0].box, (Box{1, 2, 11, 22}));
  EXPECT_EQ(b.annotations[0].label, 1);
  EXPECT_EQ(b.annotations[0].category_id, 1);
  EXPECT_DOUBLE_EQ(b.annotations[0].area, 200.0);
  EXPECT_FALSE(b.annotations[0].iscrowd);
  EXPECT_EQ(b.annotations[0].id, 1);
  EXPECT_EQ(b.annotations[1].box, (Box{3, 4, 5, 6}));
  EXPECT_EQ(b.annotations[1].label, 0);
  EXPECT_EQ(b.annotations[1].id, 3);

  const auto& a = data.records[1];
  EXPECT_EQ(a.image, f.dir / "imgs/a.jpg");
  EXPECT_EQ(a.image_id, 1);
  EXPECT_EQ(a.width, 37);
  EXPECT_EQ(a.height, 23);
  ASSERT_EQ(a.annotations.size(), 2u);
  EXPECT_EQ(a.annotations[0].box, (Box{0, 0, 10.5, 5}));
  EXPECT_EQ(a.annotations[0].label, 0);
  EXPECT_DOUBLE_EQ(a.annotations[0].area, 52.5);
  EXPECT_EQ(a.annotations[0].id, 2);
  EXPECT_EQ(a.annotations[1].box, (Box{2.5, 10, 30, 20}));
  EXPECT_EQ(a.annotations[1].label, 1);
  EXPECT_EQ(a.annotations[1].id, 6);  // boxes 4 and 5 were dropped

  const auto& c = data.records[2];
  EXPECT_EQ(c.image_id, 2);
  EXPECT_EQ(c.width, 20);
  EXPECT_EQ(c.height, 10);
  EXPECT_TRUE(c.annotations.empty());
}

TEST(CsvDetection, ClassNamesFromTrainAndImageRoot) {
  CsvFixture f;
  const auto csv = write_text(f.dir / "lists/val.csv",
                              "image,x1,y1,x2,y2,label\n"
                              "a.jpg,1,1,4,4,cat\n"
                              + (f.dir / "imgs/b.png").string() + ",0,0,2,2,dog\n");
  const auto data = read_csv_detection(csv, f.dir / "imgs", {.class_names = {"dog", "bird", "cat"}});
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"dog", "bird", "cat"}));
  EXPECT_EQ(data.category_ids, (std::vector<std::int64_t>{0, 1, 2}));
  ASSERT_EQ(data.records.size(), 2u);
  EXPECT_EQ(data.records[0].image, f.dir / "imgs/a.jpg");
  EXPECT_EQ(data.records[0].annotations[0].label, 2);
  EXPECT_EQ(data.records[0].annotations[0].category_id, 2);
  EXPECT_EQ(data.records[1].image, f.dir / "imgs/b.png");  // absolute paths stay as they are
  EXPECT_EQ(data.records[1].annotations[0].label, 0);

  // Only images without objects: no classes unless given.
  const auto empty = read_csv_detection(f.csv(",,,imgs/c.bmp,,,\n"));
  EXPECT_TRUE(empty.class_names.empty());
  ASSERT_EQ(empty.records.size(), 1u);
  EXPECT_TRUE(empty.records[0].annotations.empty());
}

TEST(CsvDetection, ErrorsNameFileLineAndColumn) {
  CsvFixture f;
  const auto csv = f.dir / "boxes.csv";
  const std::string file = "detection CSV '" + csv.string() + "'";
  const std::string line2 = file + " line 2";
  const auto read = [&](const std::string& body, const CsvDetectionOptions& options = {}) {
    f.csv(body);
    return error_text([&] { read_csv_detection(csv, {}, options); });
  };
  EXPECT_EQ(read("cat,x,5,imgs/a.jpg,abc,3,1\n"), line2 + ", column 'x1': expected a finite number, got 'abc'");
  EXPECT_EQ(read("cat,x,5,imgs/a.jpg,1,3,nan\n"), line2 + ", column 'y1': expected a finite number, got 'nan'");
  EXPECT_EQ(read("cat,x,inf,imgs/a.jpg,1,3,1\n"), line2 + ", column 'y2': expected a finite number, got 'inf'");
  EXPECT_EQ(read("cat,x,5,imgs/a.jpg,1,1e999,1\n"), line2 + ", column 'x2': expected a finite number, got '1e999'");
  EXPECT_EQ(read("cat,x,5,imgs/a.jpg,1,3 px,1\n"), line2 + ", column 'x2': expected a finite number, got '3 px'");
  EXPECT_EQ(read("cat,x,5,imgs/a.jpg,4,3,1\n"),
            line2 + ", column 'x2': x2 3 is less than x1 4; boxes are x1,y1,x2,y2 corners in pixels with x1 <= x2 "
                    "and y1 <= y2");
  EXPECT_EQ(read("cat,x,0.5,imgs/a.jpg,1,3,1\n"),
            line2 + ", column 'y2': y2 0.5 is less than y1 1; boxes are x1,y1,x2,y2 corners in pixels with x1 <= x2 "
                    "and y1 <= y2");
  EXPECT_EQ(read("cat,x,5,imgs/a.jpg,1,,1\n"),
            line2 + ": column 'x2' is empty; a box fills x1, y1, x2, y2 and label, an image without objects leaves "
                    "all five empty");
  EXPECT_EQ(read("cat,x,5,imgs/a.jpg,1,3,1\n,x,5,imgs/a.jpg,,3,1\n"),
            file + " line 3: columns 'x1', 'label' are empty; a box fills x1, y1, x2, y2 and label, an image without "
                   "objects leaves all five empty");
  EXPECT_EQ(read("cat,x,5,,1,3,1\n"), line2 + ", column 'image': the image path is empty");
  EXPECT_EQ(read("cot,x,5,imgs/a.jpg,1,3,1\n", {.class_names = {"cat", "dog"}}),
            line2 + ", column 'label': label 'cot' is not one of the classes (did you mean 'cat'?): cat, dog");
  EXPECT_THROW(read_csv_detection(f.csv("cow,x,5,imgs/a.jpg,1,3,1\n"), {}, {.class_names = {"cat"}}), ConfigError);
  EXPECT_EQ(read("cat,x,5,imgs/a.jpg,1,3,1\n", {.class_names = {"cat", "dog", "cat"}}),
            "CsvDetectionOptions::class_names lists 'cat' twice; give each class once");
  EXPECT_EQ(read(""), file + " has a header but no rows");
  EXPECT_THROW(read_csv_detection(f.csv("")), ConfigError);

  f.csv("cat,5,imgs/a.jpg,1,1\n", "label,y2,image,x1,y1");
  EXPECT_EQ(error_text([&] { read_csv_detection(csv); }),
            file + ": missing column 'x2'; expected a header naming image,x1,y1,x2,y2,label (any order, other "
                   "columns ignored), got: label, y2, image, x1, y1");
  f.csv("a.jpg,cat\n", "path,class");
  EXPECT_THROW(read_csv_detection(csv), FormatError);
  EXPECT_EQ(error_text([&] { read_csv_detection(csv); }),
            file + ": missing columns 'image', 'x1', 'y1', 'x2', 'y2', 'label'; expected a header naming "
                   "image,x1,y1,x2,y2,label (any order, other columns ignored), got: path, class");

  // Images are measured when first seen; their errors carry the CSV line.
  auto truncated = read_bytes(f.dir / "imgs/b.png");
  truncated.resize(12);
  write_bytes(f.dir / "imgs/cut.png", truncated);
  EXPECT_EQ(read("cat,x,5,imgs/a.jpg,1,3,1\ncat,x,5,imgs/cut.png,1,3,1\n"),
            file + " line 3: cannot read the size of image '" + (f.dir / "imgs/cut.png").string() +
                "': truncated PNG header (the file ends after 12 bytes)" + kDamaged);
  EXPECT_EQ(read("cat,x,5,imgs/gone.jpg,1,3,1\n"),
            line2 + ": cannot read image '" + (f.dir / "imgs/gone.jpg").string() + "': No such file or directory");
  EXPECT_THROW(read_csv_detection(csv), IoError);

  const auto big = f.csv("cat,x,5,imgs/a.jpg,1,3,1\n");
  EXPECT_EQ(error_text([&] { read_csv_detection(big, {}, {.max_file_bytes = 10}); }),
            file + " is " + std::to_string(fs::file_size(big)) +
                " bytes, over the limit of 10; raise CsvDetectionOptions::max_file_bytes if the file is right");
}

// ---- read_yolo_detection -------------------------------------------------------------------------------------

/// root/images/train: a.jpg 40x20, b.png 64x32, d.png 24x24 (no label file), sub/c.bmp 16x16, plus files that are
/// not listed; labels for a, b and sub/c; classes in classes.txt.
struct YoloFixture {
  autotimm::testing::TempDir dir;
  fs::path root = dir / "set";
  YoloFixture() {
    write_cv_image(root / "images/train/a.jpg", 40, 20);
    write_cv_image(root / "images/train/b.png", 64, 32);
    write_cv_image(root / "images/train/d.png", 24, 24);
    write_cv_image(root / "images/train/sub/c.bmp", 16, 16);
    write_cv_image(root / "images/train/.hidden.png", 8, 8);
    write_cv_image(root / "images/train/.cache/e.png", 8, 8);
    write_text(root / "images/train/notes.txt", "not an image");
    write_text(root / "labels/train/a.txt", "0 0.5 0.5 0.25 0.5\n\n1 0.125 0.25 0.25 0.5\n");
    // Cut by the left edge, then a zero-width box; CRLF line ends.
    write_text(root / "labels/train/b.txt", "2 0.0625 0.5 0.25 0.25\r\n1 0.5 0.5 0 0.5\r\n");
    // Class written as 1.0, a width rounded just over 1 (within the slack): clipped to the image.
    write_text(root / "labels/train/sub/c.txt", "  1.0\t0.5 0.5   1.0000005 1  \n");
    write_text(root / "classes.txt", "cat\ndog\r\nbird\n\n");
  }
  fs::path label(const std::string& text) const { return write_text(root / "labels/train/a.txt", text); }
};

TEST(YoloDetection, BoxesRecordsAndClasses) {
  YoloFixture f;
  const auto data = read_yolo_detection(f.root, "train");
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"cat", "dog", "bird"}));
  EXPECT_EQ(data.category_ids, (std::vector<std::int64_t>{0, 1, 2}));
  ASSERT_EQ(data.records.size(), 4u);
  const std::vector<std::string> names = {"a.jpg", "b.png", "d.png", "sub/c.bmp"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(data.records[i].image, f.root / "images/train" / names[i]);
    EXPECT_EQ(data.records[i].image_id, static_cast<std::int64_t>(i));
  }

  const auto& a = data.records[0];
  EXPECT_EQ(a.width, 40);
  EXPECT_EQ(a.height, 20);
  ASSERT_EQ(a.annotations.size(), 2u);
  EXPECT_EQ(a.annotations[0].box, (Box{15, 5, 25, 15}));  // 40·(0.5 ∓ 0.125), 20·(0.5 ∓ 0.25)
  EXPECT_EQ(a.annotations[0].label, 0);
  EXPECT_EQ(a.annotations[0].category_id, 0);
  EXPECT_DOUBLE_EQ(a.annotations[0].area, 100.0);
  EXPECT_EQ(a.annotations[0].id, 1);
  EXPECT_EQ(a.annotations[1].box, (Box{0, 0, 10, 10}));
  EXPECT_EQ(a.annotations[1].label, 1);
  EXPECT_EQ(a.annotations[1].id, 2);

  const auto& b = data.records[1];
  EXPECT_EQ(b.width, 64);
  EXPECT_EQ(b.height, 32);
  ASSERT_EQ(b.annotations.size(), 1u);
  EXPECT_EQ(b.annotations[0].box, (Box{0, 12, 12, 20}));  // x1 = 64·(0.0625 − 0.125) = −4, clipped
  EXPECT_DOUBLE_EQ(b.annotations[0].area, 96.0);
  EXPECT_EQ(b.annotations[0].label, 2);
  EXPECT_EQ(b.annotations[0].id, 3);

  EXPECT_EQ(data.records[2].width, 24);
  EXPECT_TRUE(data.records[2].annotations.empty());  // no label file

  const auto& c = data.records[3];
  EXPECT_EQ(c.width, 16);
  ASSERT_EQ(c.annotations.size(), 1u);
  EXPECT_EQ(c.annotations[0].box, (Box{0, 0, 16, 16}));
  EXPECT_EQ(c.annotations[0].label, 1);
  EXPECT_EQ(c.annotations[0].id, 5);  // box 4 (zero width) was dropped

  EXPECT_EQ(data.dropped_degenerate, 1);
  EXPECT_EQ(data.dropped_small, 0);

  // min_bbox_area applies to the clipped pixel box: a's and b's boxes (100, 100 and 96 px) go, c's 256 stays.
  const auto filtered = read_yolo_detection(f.root, "train", {.min_bbox_area = 100.5});
  EXPECT_EQ(filtered.dropped_small, 3);
  EXPECT_TRUE(filtered.records[0].annotations.empty());
  EXPECT_EQ(filtered.records[3].annotations.size(), 1u);

  // No labels folder at all: images without objects.
  fs::create_directories(f.root / "images/test");
  write_cv_image(f.root / "images/test/z.png", 9, 5);
  const auto test = read_yolo_detection(f.root, "test");
  ASSERT_EQ(test.records.size(), 1u);
  EXPECT_EQ(test.records[0].width, 9);
  EXPECT_TRUE(test.records[0].annotations.empty());
}

TEST(YoloDetection, ClassNamesFromOptionsClassesTxtOrDataYaml) {
  YoloFixture f;
  const auto names = [&](const YoloDetectionOptions& options = {}) {
    return read_yolo_detection(f.root, "train", options).class_names;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(names({.class_names = {"x", "y", "z", "w"}}), (Names{"x", "y", "z", "w"}));
  write_text(f.root / "data.yaml", "names: [p, q, r]\n");
  EXPECT_EQ(names(), (Names{"cat", "dog", "bird"}));  // classes.txt first
  fs::remove(f.root / "classes.txt");
  EXPECT_EQ(names(), (Names{"p", "q", "r"}));

  // The forms Ultralytics and YOLOv5 files use: a block map (any order), a flow list over several lines with
  // quotes and comments, a block list, a flow map.
  write_text(f.root / "data.yaml",
             "# comment\npath: ../datasets/x  # root\ntrain: images/train\nnc: 3\nnames:\n  1: traffic light\n"
             "  0: person   # first\n\n  2: 'it''s # not a comment'\ndownload: |\n  names: [no]\n");
  EXPECT_EQ(names(), (Names{"person", "traffic light", "it's # not a comment"}));
  write_text(f.root / "data.yaml",
             "nc: 3\nnames: ['person', \"fire \\\"hydrant\\\"\",  # wrapped\n        bicycle's wheel, ]\nval: v\n");
  EXPECT_EQ(names(), (Names{"person", "fire \"hydrant\"", "bicycle's wheel"}));
  write_text(f.root / "data.yaml", "names:\n- cat\n-   'dog: big'\n  # between\n- bird\ntrain: t\n");
  EXPECT_EQ(names(), (Names{"cat", "dog: big", "bird"}));
  write_text(f.root / "data.yaml", "names: {0: cat, 2: 'b, c', 1: dog}\n");
  EXPECT_EQ(names(), (Names{"cat", "dog", "b, c"}));
}

TEST(YoloDetection, ClassNameErrors) {
  YoloFixture f;
  const auto read = [&] { return error_text([&] { read_yolo_detection(f.root, "train"); }); };
  const auto classes_txt = f.root / "classes.txt";
  write_text(classes_txt, "cat\n\ndog\n");
  EXPECT_EQ(read(), "YOLO classes file '" + classes_txt.string() +
                        "' line 2 is empty; line 1 names class 0, line 2 class 1, and so on, so every line up to the "
                        "last needs a name");
  write_text(classes_txt, "\n \n");
  EXPECT_EQ(read(), "YOLO classes file '" + classes_txt.string() + "' names no classes; write one class name per line");
  fs::remove(classes_txt);

  const auto yaml = f.root / "data.yaml";
  const std::string no_names = "YOLO dataset '" + f.root.string() + "' has no class names";
  const std::string what_to_do = ": write them to '" + classes_txt.string() +
                                 "' (one per line, the first is class 0) or under 'names:' in '" + yaml.string() +
                                 "', or pass YoloDetectionOptions::class_names";
  EXPECT_EQ(read(), no_names + what_to_do);
  EXPECT_THROW(read_yolo_detection(f.root, "train"), ConfigError);
  write_text(yaml, "nc: 2\n  names: [a, b]\n");
  EXPECT_EQ(read(), no_names + " ('" + yaml.string() + "' has no top-level 'names:')" + what_to_do);

  const auto yaml_error = [&](int line, const std::string& what) {
    return "YOLO data.yaml '" + yaml.string() + "' line " + std::to_string(line) + ": " + what +
           "; expected names: [a, b], or a block of '  0: a' or '- a' lines (pass "
           "YoloDetectionOptions::class_names to give them directly)";
  };
  write_text(yaml, "nc: 2\nnames:\n  0: a\n  2: b\n");
  EXPECT_EQ(read(), yaml_error(2, "class index 1 has no name"));
  write_text(yaml, "names:\n  0: a\n  0: b\n");
  EXPECT_EQ(read(), yaml_error(3, "class index 0 is given twice"));
  write_text(yaml, "names:\n  - a\n  1: b\n");
  EXPECT_EQ(read(), yaml_error(3, "'- name' and 'index: name' lines are mixed"));
  write_text(yaml, "names:\n  x: a\n");
  EXPECT_EQ(read(), yaml_error(2, "'x' is not a class index"));
  write_text(yaml, "names: ['a', 'b\n");
  EXPECT_EQ(read(), yaml_error(1, "a quoted name runs past the end of the line"));
  write_text(yaml, "names: [a, b\n");
  EXPECT_EQ(read(), yaml_error(1, "the '[' is never closed"));
  write_text(yaml, "names: [a, [b]]\n");
  EXPECT_EQ(read(), yaml_error(1, "nested '[' in the names"));
  write_text(yaml, "names: [a, b] extra\n");
  EXPECT_EQ(read(), yaml_error(1, "unexpected text after ']'"));
  write_text(yaml, "names: coco.names\n");
  EXPECT_EQ(read(), yaml_error(1, "'names:' holds 'coco.names'"));
  write_text(yaml, "names:\ntrain: x\n");
  EXPECT_EQ(read(), yaml_error(1, "'names:' is empty"));
  write_text(yaml, "names: []\n");
  EXPECT_EQ(read(), yaml_error(1, "'names:' is empty"));
  write_text(yaml, "names:\n- a\n- \"b\n");
  EXPECT_EQ(read(), yaml_error(3, "the quoted name \"b is never closed"));
}

TEST(YoloDetection, LabelFileErrorsNameFileAndLine) {
  YoloFixture f;
  const auto file = f.root / "labels/train/a.txt";
  const std::string line1 = "YOLO labels '" + file.string() + "' line 1";
  const auto read = [&](const std::string& text, const YoloDetectionOptions& options = {}) {
    f.label(text);
    return error_text([&] { read_yolo_detection(f.root, "train", options); });
  };
  EXPECT_EQ(read("0 0.5 0.5 0.25\n"), line1 + ": expected 5 fields 'class cx cy w h', got 4");
  EXPECT_EQ(read("0 0.5 0.5 0.25 0.5\n1 0.1 0.1 0.2 0.1 0.2 0.2\n"),
            "YOLO labels '" + file.string() +
                "' line 2: expected 5 fields 'class cx cy w h', got 7 (polygon labels of segmentation datasets are "
                "not read as boxes)");
  EXPECT_EQ(read("3 0.5 0.5 0.25 0.5\n"),
            line1 + ", field 'class': class 3 is out of range: the dataset has 3 classes (0 to 2)");
  EXPECT_EQ(read("-1 0.5 0.5 0.25 0.5\n"),
            line1 + ", field 'class': class -1 is out of range: the dataset has 3 classes (0 to 2)");
  EXPECT_EQ(read("cat 0.5 0.5 0.25 0.5\n"),
            line1 + ", field 'class': expected a class index (a whole number), got 'cat'");
  EXPECT_EQ(read("1.5 0.5 0.5 0.25 0.5\n"),
            line1 + ", field 'class': expected a class index (a whole number), got '1.5'");
  EXPECT_EQ(read("0 nan 0.5 0.25 0.5\n"), line1 + ", field 'cx': expected a finite number, got 'nan'");
  EXPECT_EQ(read("0 0.5 inf 0.25 0.5\n"), line1 + ", field 'cy': expected a finite number, got 'inf'");
  EXPECT_EQ(read("0 0.5 0.5 1.01 0.5\n"),
            line1 + ", field 'w': 1.01 is outside [0, 1]; YOLO boxes are normalised by the image's width and height");
  EXPECT_EQ(read("0 0.5 0.5 0.25 -0.00001\n"),
            line1 + ", field 'h': -0.00001 is outside [0, 1]; YOLO boxes are normalised by the image's width and "
                    "height");
  EXPECT_EQ(read("1 0.5 0.5 0.25 0.5\n", {.class_names = {"only"}}),
            line1 + ", field 'class': class 1 is out of range: the dataset has 1 classes (0 to 0)");
  EXPECT_THROW(read_yolo_detection(f.root, "train", {.class_names = {"only"}}), FormatError);

  const auto label = f.label("0 0.5 0.5 0.25 0.5\n");
  // (class names given: classes.txt is over the limit too)
  EXPECT_EQ(error_text([&] { read_yolo_detection(f.root, "train", {.class_names = {"a"}, .max_file_bytes = 8}); }),
            "YOLO labels '" + label.string() + "' is " + std::to_string(fs::file_size(label)) +
                " bytes, over the limit of 8; raise YoloDetectionOptions::max_file_bytes if the file is right");

  EXPECT_EQ(error_text([&] { read_yolo_detection(f.root, "val"); }),
            "YOLO images folder '" + (f.root / "images/val").string() +
                "' does not exist or is not a folder; expected the Ultralytics layout <root>/images/<split>/<images> "
                "with labels in <root>/labels/<split>/<image name>.txt");
  EXPECT_THROW(read_yolo_detection(f.root, "val"), NotFoundError);
  write_text(f.root / "images/empty/readme.txt", "nothing here");
  EXPECT_EQ(error_text([&] { read_yolo_detection(f.root, "empty"); }),
            "YOLO images folder '" + (f.root / "images/empty").string() +
                "' has no images (.jpg, .jpeg, .png, .bmp, .tif, .tiff, .webp)");

  // A damaged image is named by the size reader.
  auto bytes = read_bytes(f.root / "images/train/b.png");
  bytes.resize(20);
  write_bytes(f.root / "images/train/b.png", bytes);
  f.label("0 0.5 0.5 0.25 0.5\n");
  EXPECT_EQ(error_text([&] { read_yolo_detection(f.root, "train"); }),
            "cannot read the size of image '" + (f.root / "images/train/b.png").string() +
                "': truncated PNG header (the file ends after 20 bytes)" + kDamaged);
}

}  // namespace
}  // namespace autotimm
