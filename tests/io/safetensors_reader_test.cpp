// The safetensors reader on valid input: the dtype table, the shared timm fixture, lookups, files the reference
// writer would not produce but readers must accept, and opening errors.
#include <sys/stat.h>

#include "autotimm/error.hpp"
#include "autotimm/io/safetensors.hpp"
#include "io_test_support.hpp"

namespace autotimm {
namespace {

using testing::as_bytes;
using testing::safetensors_file;

std::string message_of(const auto& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(Dtype, NamesAndBitsFollowTheFormatTableInOrder) {
  const std::vector<std::pair<std::string, std::size_t>> expected = {
      {"BOOL", 8},     {"F4", 4},           {"F6_E2M3", 6},      {"F6_E3M2", 6}, {"U8", 8},   {"I8", 8},
      {"F8_E5M2", 8},  {"F8_E4M3", 8},      {"F8_E8M0", 8},      {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8},
      {"I16", 16},     {"U16", 16},         {"F16", 16},         {"BF16", 16},   {"I32", 32}, {"U32", 32},
      {"F32", 32},     {"C64", 64},         {"F64", 64},         {"I64", 64},    {"U64", 64}};
  ASSERT_EQ(all_dtypes().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Dtype dtype = all_dtypes()[i];
    EXPECT_EQ(static_cast<std::size_t>(dtype), i);
    EXPECT_EQ(dtype_name(dtype), expected[i].first);
    EXPECT_EQ(dtype_bits(dtype), expected[i].second) << expected[i].first;
    EXPECT_EQ(parse_dtype(expected[i].first), dtype);
  }
}

TEST(Dtype, ParsingIsExactAndCaseSensitive) {
  EXPECT_EQ(parse_dtype("F32"), Dtype::f32);
  EXPECT_EQ(parse_dtype("BOOL"), Dtype::boolean);
  EXPECT_FALSE(parse_dtype("f32"));
  EXPECT_FALSE(parse_dtype("F32 "));
  EXPECT_FALSE(parse_dtype(""));
  EXPECT_FALSE(parse_dtype("FLOAT"));
  EXPECT_EQ(dtype_bits(static_cast<Dtype>(99)), 0u);
}

TEST(SafetensorsReader, ReadsTheResnet18FixtureWrittenByPython) {
  const std::filesystem::path fixture = AUTOTIMM_SHARED_DIR "/fixtures/timm/resnet18.fixture/model.safetensors";
  if (!std::filesystem::exists(fixture)) GTEST_SKIP() << "fixture not present: " << fixture;
  const SafetensorsReader reader = SafetensorsReader::open(fixture);

  EXPECT_EQ(reader.source(), std::filesystem::absolute(fixture).lexically_normal().string());
  EXPECT_EQ(reader.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  EXPECT_EQ(reader.header_size(), 10728u);
  EXPECT_EQ(reader.tensors().size(), 122u);

  const TensorInfo& conv = reader.get("conv1.weight");
  EXPECT_EQ(conv.dtype, Dtype::f16);
  EXPECT_EQ(conv.shape, (std::vector<std::int64_t>{64, 3, 7, 7}));
  EXPECT_EQ(conv.begin, 672u);
  EXPECT_EQ(conv.end, 19488u);
  EXPECT_EQ(reader.data(conv).size(), 64u * 3 * 7 * 7 * 2);

  const TensorInfo& counter = reader.get("bn1.num_batches_tracked");
  EXPECT_EQ(counter.dtype, Dtype::i64);
  EXPECT_TRUE(counter.shape.empty());
  EXPECT_EQ(counter.begin, 0u);
  EXPECT_EQ(reader.data(counter).size(), 8u);

  const TensorInfo& classifier = reader.get("fc.weight");
  EXPECT_EQ(classifier.shape, (std::vector<std::int64_t>{10, 512}));

  // tensors() is in byte order and tiles the data buffer.
  std::uint64_t expected_begin = 0;
  for (const TensorInfo& info : reader.tensors()) {
    EXPECT_EQ(info.begin, expected_begin) << info.name;
    expected_begin = info.end;
  }
  EXPECT_EQ(8 + reader.header_size() + expected_begin, std::filesystem::file_size(fixture));
}

TEST(SafetensorsReader, GetOfAnUnknownNameListsTheClosestNames) {
  const std::string file = safetensors_file(
      R"({"conv1.weight":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"fc.bias":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
      "ab");
  const SafetensorsReader reader = SafetensorsReader::from_bytes(as_bytes(file), "mem");
  EXPECT_EQ(reader.find("conv1.weigth"), nullptr);
  EXPECT_NE(reader.find("fc.bias"), nullptr);
  EXPECT_THROW(reader.get("conv1.weigth"), NotFoundError);
  const std::string message = message_of([&] { reader.get("conv1.weigth"); });
  EXPECT_NE(message.find("unknown tensor 'conv1.weigth' in 'mem'; closest: conv1.weight"), std::string::npos)
      << message;
}

TEST(SafetensorsReader, AcceptsUnpaddedHeadersArbitraryKeyOrderAndUnknownEntryFields) {
  // Older writers: keys not in offset order, header length not a multiple of 8, no __metadata__.
  const std::string file = safetensors_file(
      R"({"second":{"dtype":"I16","shape":[2],"data_offsets":[3,7],"extra":true},"first":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}  )",
      "abcdefg");
  const SafetensorsReader reader = SafetensorsReader::from_bytes(as_bytes(file), "mem");
  ASSERT_EQ(reader.tensors().size(), 2u);
  EXPECT_EQ(reader.tensors()[0].name, "first");
  EXPECT_EQ(reader.tensors()[1].name, "second");
  EXPECT_TRUE(reader.metadata().empty());
  const std::span<const std::byte> second = reader.data(reader.get("second"));
  ASSERT_EQ(second.size(), 4u);
  EXPECT_EQ(second[0], std::byte{'d'});
  EXPECT_EQ(second[3], std::byte{'g'});
}

TEST(SafetensorsReader, AcceptsAFileWithoutTensors) {
  const std::string file = safetensors_file("{}      ", "");
  const SafetensorsReader reader = SafetensorsReader::from_bytes(as_bytes(file), "mem");
  EXPECT_TRUE(reader.tensors().empty());
  EXPECT_THROW(reader.get("w"), NotFoundError);
  EXPECT_NE(message_of([&] { reader.get("w"); }).find("the file holds no tensors"), std::string::npos);
}

TEST(SafetensorsReader, AcceptsEmptyTensorsThatShareAnOffset) {
  const std::string file = safetensors_file(
      R"({"a":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"c":{"dtype":"F64","shape":[3,0],"data_offsets":[2,2]}})",
      "xy");
  const SafetensorsReader reader = SafetensorsReader::from_bytes(as_bytes(file), "mem");
  ASSERT_EQ(reader.tensors().size(), 3u);
  EXPECT_EQ(reader.tensors()[0].name, "a");
  EXPECT_EQ(reader.tensors()[1].name, "b");
  EXPECT_EQ(reader.tensors()[2].name, "c");
  EXPECT_TRUE(reader.data(reader.get("a")).empty());
  EXPECT_EQ(reader.data(reader.get("b")).size(), 2u);
}

TEST(SafetensorsReader, DataRefusesATensorInfoFromElsewhere) {
  const std::string file = safetensors_file(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", "ab");
  const SafetensorsReader reader = SafetensorsReader::from_bytes(as_bytes(file), "mem");
  TensorInfo foreign = reader.get("w");
  foreign.end = 3;
  EXPECT_THROW(reader.data(foreign), ConfigError);
  foreign.begin = 4;
  EXPECT_THROW(reader.data(foreign), ConfigError);
}

TEST(SafetensorsReader, StaysUsableAfterAMove) {
  const std::string file = safetensors_file(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", "ab");
  SafetensorsReader first = SafetensorsReader::from_bytes(as_bytes(file), "mem");
  SafetensorsReader second = std::move(first);
  EXPECT_EQ(second.data(second.get("w")).size(), 2u);
  SafetensorsReader third = SafetensorsReader::from_bytes(as_bytes(file), "other");
  third = std::move(second);
  EXPECT_EQ(third.source(), "mem");
}

class SafetensorsOpen : public testing::ScratchDirTest {};

TEST_F(SafetensorsOpen, MapsAFileAndKeepsItsBytesAfterTheFileIsDeleted) {
  const std::filesystem::path path = dir_ / "w.safetensors";
  testing::write_file(path, safetensors_file(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", "ab"));
  const SafetensorsReader reader = SafetensorsReader::open(path);
  std::filesystem::remove(path);
  const std::span<const std::byte> bytes = reader.data(reader.get("w"));
  EXPECT_EQ(bytes[0], std::byte{'a'});
  EXPECT_EQ(bytes[1], std::byte{'b'});
}

TEST_F(SafetensorsOpen, AMissingFileIsAnIoErrorNamingTheAbsolutePath) {
  const std::filesystem::path relative = std::filesystem::relative(dir_ / "missing.safetensors");
  EXPECT_THROW(SafetensorsReader::open(relative), IoError);
  const std::string message = message_of([&] { SafetensorsReader::open(relative); });
  EXPECT_NE(message.find("'" + (dir_ / "missing.safetensors").string() + "'"), std::string::npos) << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
}

TEST_F(SafetensorsOpen, ADirectoryIsAnIoError) {
  EXPECT_THROW(SafetensorsReader::open(dir_), IoError);
  EXPECT_NE(message_of([&] { SafetensorsReader::open(dir_); }).find("expected a regular file, got a directory"),
            std::string::npos);
}

TEST_F(SafetensorsOpen, APipeIsRefusedWithoutBlocking) {
  const std::filesystem::path fifo = dir_ / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(message_of([&] { SafetensorsReader::open(fifo); }).find("got a pipe"), std::string::npos);
}

TEST_F(SafetensorsOpen, AnEmptyFileIsAFormatErrorNamingTheAbsolutePath) {
  const std::filesystem::path path = dir_ / "empty.safetensors";
  testing::write_file(path, "");
  EXPECT_THROW(SafetensorsReader::open(path), FormatError);
  EXPECT_EQ(message_of([&] { SafetensorsReader::open(path); }),
            "safetensors file too small: '" + path.string() +
                "': expected at least 8 bytes (the header length), got 0; the file is corrupt or not safetensors; "
                "download or export it again");
}

}  // namespace
}  // namespace autotimm
