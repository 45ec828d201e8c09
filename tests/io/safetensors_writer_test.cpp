// The safetensors writer: round trips, the reference layout (order, padding, alignment), input validation and
// atomic replacement.
#include <algorithm>
#include <cstring>

#include "autotimm/error.hpp"
#include "autotimm/io/safetensors.hpp"
#include "io_test_support.hpp"

namespace autotimm {
namespace {

using testing::as_bytes;
using testing::counting_bytes;

struct OwnedTensor {
  std::string name;
  Dtype dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> bytes;

  TensorBytes view() const { return {name, dtype, shape, bytes}; }
};

std::size_t byte_count(Dtype dtype, const std::vector<std::int64_t>& shape) {
  std::size_t elements = 1;
  for (std::int64_t dimension : shape) elements *= static_cast<std::size_t>(dimension);
  return elements * dtype_bits(dtype) / 8;
}

std::vector<TensorBytes> views(const std::vector<OwnedTensor>& tensors) {
  std::vector<TensorBytes> result;
  for (const OwnedTensor& tensor : tensors) result.push_back(tensor.view());
  return result;
}

std::uint64_t header_length_of(const std::string& file) {
  std::uint64_t length = 0;
  for (int i = 0; i < 8; ++i) length |= static_cast<std::uint64_t>(static_cast<unsigned char>(file[i])) << (8 * i);
  return length;
}

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

TEST(SafetensorsWriter, RoundTripsEveryDtypeOfTheIssueWithScalarAndEmptyShapes) {
  const std::vector<Dtype> dtypes = {Dtype::f64, Dtype::f32, Dtype::f16, Dtype::bf16, Dtype::i64,
                                     Dtype::i32, Dtype::i16, Dtype::i8,  Dtype::u8,   Dtype::boolean};
  const std::vector<std::vector<std::int64_t>> shapes = {{2, 3}, {}, {0, 3}, {5}};
  std::vector<OwnedTensor> tensors;
  unsigned seed = 1;
  for (Dtype dtype : dtypes) {
    for (std::size_t s = 0; s < shapes.size(); ++s) {
      tensors.push_back({std::string(dtype_name(dtype)) + ".shape" + std::to_string(s), dtype, shapes[s],
                         counting_bytes(byte_count(dtype, shapes[s]), seed++)});
    }
  }
  const std::vector<TensorBytes> input = views(tensors);
  const std::string file = serialize_safetensors(input);
  const SafetensorsReader reader = SafetensorsReader::from_bytes(as_bytes(file), "round trip");

  ASSERT_EQ(reader.tensors().size(), tensors.size());
  for (const OwnedTensor& expected : tensors) {
    SCOPED_TRACE(expected.name);
    const TensorInfo& info = reader.get(expected.name);
    EXPECT_EQ(info.dtype, expected.dtype);
    EXPECT_EQ(info.shape, expected.shape);
    EXPECT_EQ(info.byte_size(), expected.bytes.size());
    EXPECT_TRUE(same_bytes(reader.data(info), expected.bytes));
  }
}

TEST(SafetensorsWriter, RoundTripsSubByteAndTorchlessDtypes) {
  std::vector<OwnedTensor> tensors;
  for (Dtype dtype : all_dtypes()) {
    // 8 elements is a whole number of bytes for every dtype, F4 and F6 included.
    tensors.push_back({"t." + std::string(dtype_name(dtype)), dtype, {2, 4}, counting_bytes(byte_count(dtype, {2, 4}))});
  }
  const std::vector<TensorBytes> input = views(tensors);
  const std::string file = serialize_safetensors(input);
  const SafetensorsReader reader = SafetensorsReader::from_bytes(as_bytes(file), "all dtypes");
  for (const OwnedTensor& expected : tensors) {
    const TensorInfo& info = reader.get(expected.name);
    EXPECT_EQ(info.dtype, expected.dtype) << expected.name;
    EXPECT_TRUE(same_bytes(reader.data(info), expected.bytes)) << expected.name;
  }
  EXPECT_EQ(reader.get("t.F4").byte_size(), 4u);
  EXPECT_EQ(reader.get("t.F6_E2M3").byte_size(), 6u);
}

TEST(SafetensorsWriter, RoundTripsMetadataWithCharactersThatNeedEscaping) {
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"hparams", R"({"lr": 0.1, "name": "a\"b"})"}, {"note", "line1\nline2\ttab \\ é ✓"}, {"", ""}};
  const std::string file = serialize_safetensors({}, metadata);
  const SafetensorsReader reader = SafetensorsReader::from_bytes(as_bytes(file), "metadata");
  EXPECT_EQ(reader.metadata(), metadata);
  EXPECT_TRUE(reader.tensors().empty());
}

TEST(SafetensorsWriter, OrdersByDescendingDtypeThenNameWithContiguousOffsets) {
  const std::vector<OwnedTensor> tensors = {
      {"b_f16", Dtype::f16, {3}, counting_bytes(6)},   {"a_f32", Dtype::f32, {1}, counting_bytes(4)},
      {"counter", Dtype::i64, {}, counting_bytes(8)},  {"a_f16", Dtype::f16, {1}, counting_bytes(2)},
      {"mask", Dtype::boolean, {3}, counting_bytes(3)}, {"z_f32", Dtype::f32, {2}, counting_bytes(8)},
  };
  const std::vector<TensorBytes> input = views(tensors);
  const std::string file = serialize_safetensors(input, {{"format", "pt"}});
  const SafetensorsReader reader = SafetensorsReader::from_bytes(as_bytes(file), "order");

  std::vector<std::string> names;
  for (const TensorInfo& info : reader.tensors()) names.push_back(info.name);
  EXPECT_EQ(names, (std::vector<std::string>{"counter", "a_f32", "z_f32", "a_f16", "b_f16", "mask"}));
  EXPECT_EQ(reader.get("counter").begin, 0u);
  EXPECT_EQ(reader.get("a_f32").begin, 8u);
  EXPECT_EQ(reader.get("z_f32").begin, 12u);
  EXPECT_EQ(reader.get("a_f16").begin, 20u);
  EXPECT_EQ(reader.get("b_f16").begin, 22u);
  EXPECT_EQ(reader.get("mask").begin, 28u);
  EXPECT_EQ(reader.get("mask").end, 31u);

  // The JSON itself: metadata first, then the entries in offset order, compact like the reference writer.
  const std::string header = file.substr(8, reader.header_size());
  EXPECT_EQ(header.rfind(R"({"__metadata__":{"format":"pt"},"counter":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)",
                         0),
            0u)
      << header;
  EXPECT_LT(header.find("\"a_f32\""), header.find("\"z_f32\""));
  EXPECT_LT(header.find("\"z_f32\""), header.find("\"a_f16\""));
  EXPECT_LT(header.find("\"b_f16\""), header.find("\"mask\""));
}

TEST(SafetensorsWriter, PadsHeaderWithSpacesSoEveryTensorStartsAligned) {
  for (std::size_t name_length = 1; name_length <= 9; ++name_length) {
    SCOPED_TRACE(name_length);
    const std::vector<OwnedTensor> tensors = {{std::string(name_length, 'w'), Dtype::f64, {2}, counting_bytes(16)},
                                              {"x", Dtype::f32, {3}, counting_bytes(12)},
                                              {"y", Dtype::f16, {1}, counting_bytes(2)}};
    const std::vector<TensorBytes> input = views(tensors);
    const std::string file = serialize_safetensors(input);
    const std::uint64_t header_length = header_length_of(file);
    EXPECT_EQ(header_length % 8, 0u);
    const std::string header = file.substr(8, header_length);
    const std::size_t json_end = header.rfind('}');
    EXPECT_LE(header.size() - 1 - json_end, 7u) << "at most 7 padding bytes";
    EXPECT_EQ(header.find_first_not_of(' ', json_end + 1), std::string::npos) << "padding is spaces only";
    const SafetensorsReader reader = SafetensorsReader::from_bytes(as_bytes(file), "padding");
    for (const TensorInfo& info : reader.tensors()) {
      EXPECT_EQ((8 + header_length + info.begin) % (dtype_bits(info.dtype) / 8), 0u) << info.name;
    }
    EXPECT_EQ(file.size(), 8 + header_length + 30);
  }
}

TEST(SafetensorsWriter, WritesNoMetadataKeyWhenThereIsNone) {
  const std::vector<OwnedTensor> tensors = {{"w", Dtype::u8, {1}, counting_bytes(1)}};
  const std::vector<TensorBytes> input = views(tensors);
  const std::string file = serialize_safetensors(input);
  EXPECT_EQ(file.substr(8, 9), R"({"w":{"dt)");
  EXPECT_EQ(file.find("__metadata__"), std::string::npos);
}

TEST(SafetensorsWriter, ReproducesTheReferenceWritersBytesForTheResnet18Fixture) {
  const std::filesystem::path fixture = AUTOTIMM_SHARED_DIR "/fixtures/timm/resnet18.fixture/model.safetensors";
  if (!std::filesystem::exists(fixture)) GTEST_SKIP() << "fixture not present: " << fixture;
  const SafetensorsReader reader = SafetensorsReader::open(fixture);
  // Hand the tensors over in reverse name order: the writer must restore the reference order itself.
  std::vector<TensorBytes> input;
  for (const TensorInfo& info : reader.tensors()) input.push_back({info.name, info.dtype, info.shape, reader.data(info)});
  std::sort(input.begin(), input.end(), [](const TensorBytes& a, const TensorBytes& b) { return a.name > b.name; });

  const std::string ours = serialize_safetensors(input, reader.metadata());
  const std::string original = testing::read_file(fixture);
  ASSERT_EQ(header_length_of(ours), header_length_of(original));
  EXPECT_EQ(ours.substr(0, 8 + header_length_of(ours)), original.substr(0, 8 + header_length_of(original)));
  EXPECT_EQ(ours.size(), original.size());
  EXPECT_TRUE(ours == original) << "data buffers differ";
}

void expect_write_error(const std::vector<OwnedTensor>& tensors, std::string_view fragment) {
  const std::vector<TensorBytes> input = views(tensors);
  try {
    serialize_safetensors(input);
    ADD_FAILURE() << "expected a FormatError containing: " << fragment;
  } catch (const FormatError& error) {
    EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
  }
}

TEST(SafetensorsWriter, RefusesDataWhoseSizeDoesNotMatchTheShape) {
  expect_write_error({{"w", Dtype::f32, {2, 2}, counting_bytes(12)}},
                     "cannot write safetensors tensor 'w': size mismatch: expected 16 bytes for F32 [2, 2], got 12 bytes");
}

TEST(SafetensorsWriter, RefusesDuplicateNames) {
  expect_write_error({{"w", Dtype::u8, {1}, counting_bytes(1)}, {"w", Dtype::u8, {1}, counting_bytes(1)}},
                     "'w': duplicate name");
}

TEST(SafetensorsWriter, RefusesTheReservedMetadataName) {
  expect_write_error({{"__metadata__", Dtype::u8, {1}, counting_bytes(1)}}, "reserved name");
}

TEST(SafetensorsWriter, RefusesNegativeDimensions) {
  expect_write_error({{"w", Dtype::u8, {-1}, {}}}, "negative dimension");
}

TEST(SafetensorsWriter, RefusesSubByteTensorsThatEndMidByte) {
  expect_write_error({{"w", Dtype::f4, {3}, counting_bytes(2)}}, "misaligned tensor: expected a whole number of bytes");
}

TEST(SafetensorsWriter, RefusesAnOutOfRangeDtypeValue) {
  expect_write_error({{"w", static_cast<Dtype>(200), {1}, counting_bytes(1)}}, "invalid dtype");
}

class SafetensorsFileWriter : public testing::ScratchDirTest {};

TEST_F(SafetensorsFileWriter, WritesAFileTheReaderOpensAndLeavesNoTemporary) {
  const std::vector<OwnedTensor> tensors = {{"w", Dtype::f32, {2, 2}, counting_bytes(16)}};
  const std::vector<TensorBytes> input = views(tensors);
  const std::filesystem::path path = dir_ / "model.safetensors";
  write_safetensors(path, input, {{"format", "pt"}});
  EXPECT_EQ(entries(), std::vector<std::string>{"model.safetensors"});
  EXPECT_EQ(testing::read_file(path), serialize_safetensors(input, {{"format", "pt"}}));
  const SafetensorsReader reader = SafetensorsReader::open(path);
  EXPECT_TRUE(same_bytes(reader.data(reader.get("w")), tensors[0].bytes));
}

TEST_F(SafetensorsFileWriter, InvalidInputLeavesThePreviousFileUntouched) {
  const std::filesystem::path path = dir_ / "model.safetensors";
  testing::write_file(path, "previous good file");
  const std::vector<OwnedTensor> tensors = {{"w", Dtype::f32, {2}, counting_bytes(3)}};
  const std::vector<TensorBytes> input = views(tensors);
  EXPECT_THROW(write_safetensors(path, input), FormatError);
  EXPECT_EQ(testing::read_file(path), "previous good file");
  EXPECT_EQ(entries(), std::vector<std::string>{"model.safetensors"});
}

}  // namespace
}  // namespace autotimm
