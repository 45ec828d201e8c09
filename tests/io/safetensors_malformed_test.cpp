// Each way a safetensors file can be malformed, one test per way, each checking the message says what is wrong.
#include "autotimm/error.hpp"
#include "autotimm/io/safetensors.hpp"
#include "io_test_support.hpp"

namespace autotimm {
namespace {

using testing::as_bytes;
using testing::safetensors_file;

constexpr std::string_view kSource = "/models/bad.safetensors";

// Parses `file` and returns the FormatError's message; fails the test if it parses or throws anything else.
std::string format_error_of(const std::string& file) {
  try {
    SafetensorsReader::from_bytes(as_bytes(file), std::string(kSource));
  } catch (const FormatError& error) {
    return error.what();
  } catch (const std::exception& error) {
    ADD_FAILURE() << "expected a FormatError, got: " << error.what();
    return {};
  }
  ADD_FAILURE() << "expected a FormatError, got a valid file";
  return {};
}

#define EXPECT_MESSAGE_HAS(message, fragment) \
  EXPECT_NE((message).find(fragment), std::string::npos) << "message: " << (message)

// One tensor entry, as the reference writer spells it.
// (Built by appending: GCC 12's -Wrestrict misfires on "literal" + std::string temporaries at -O3.)
std::string entry(std::string_view name, std::string_view dtype, std::string_view shape, std::uint64_t begin,
                  std::uint64_t end) {
  std::string text = "\"";
  text.append(name).append("\":{\"dtype\":\"").append(dtype).append("\",\"shape\":").append(shape);
  text.append(",\"data_offsets\":[").append(std::to_string(begin)).append(",").append(std::to_string(end));
  return text.append("]}");
}

// A header object holding `entries`.
std::string header_of(std::initializer_list<std::string> entries) {
  std::string text = "{";
  for (const std::string& item : entries) text.append(text.size() > 1 ? "," : "").append(item);
  return text.append("}");
}

TEST(SafetensorsMalformed, FileShorterThanTheLengthPrefix) {
  const std::string message = format_error_of(std::string("\x02\x00\x00", 3));
  EXPECT_EQ(message, "safetensors file too small: '/models/bad.safetensors': expected at least 8 bytes (the header "
                     "length), got 3; the file is corrupt or not safetensors; download or export it again");
}

TEST(SafetensorsMalformed, HeaderLengthAboveTheLimit) {
  const std::string message = format_error_of(safetensors_file("{}", "", 100'000'001));
  EXPECT_MESSAGE_HAS(message, "safetensors header too large: '/models/bad.safetensors': expected at most 100000000 "
                              "bytes, got 100000001");
}

TEST(SafetensorsMalformed, HeaderLengthNearTwoToThe64DoesNotWrapAround) {
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file("{}", "", UINT64_MAX)), "got 18446744073709551615");
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file("{}", "", UINT64_MAX - 7)), "safetensors header too large");
}

TEST(SafetensorsMalformed, HeaderLengthPastTheEndOfTheFile) {
  const std::string message = format_error_of(safetensors_file("{}", "", 64));
  EXPECT_MESSAGE_HAS(message, "safetensors header past the end of the file: '/models/bad.safetensors': expected at "
                              "most 2 header bytes (the file is 10 bytes), got 64");
}

TEST(SafetensorsMalformed, HeaderThatIsEmpty) {
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file("", "")), "expected JSON starting with '{', got an empty header");
}

TEST(SafetensorsMalformed, HeaderThatDoesNotStartWithABrace) {
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file("[]", "")), "expected JSON starting with '{', got '['");
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(std::string("\x01{}", 3), "")), "got byte 0x01");
}

TEST(SafetensorsMalformed, JsonCutOffMidEntry) {
  const std::string message = format_error_of(safetensors_file(R"({"w":{"dtype":"F32")", ""));
  EXPECT_MESSAGE_HAS(message, "invalid safetensors header JSON: '/models/bad.safetensors': expected valid UTF-8 JSON");
}

TEST(SafetensorsMalformed, JsonFollowedByGarbage) {
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file("{} x", "")), "invalid safetensors header JSON");
}

TEST(SafetensorsMalformed, HeaderPaddedWithNulBytes) {
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(std::string("{}\0\0\0\0\0\0", 8), "")),
                     "invalid safetensors header JSON");
}

TEST(SafetensorsMalformed, InvalidUtf8InATensorName) {
  const std::string message =
      format_error_of(safetensors_file(header_of({entry("bad\xff", "U8", "[0]", 0, 0)}), ""));
  EXPECT_MESSAGE_HAS(message, "invalid safetensors header JSON");
}

TEST(SafetensorsMalformed, NestingDeeperThanTheLimit) {
  std::string header = "{\"w\":";
  header.append(64, '[').append(64, ']').append("}");
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(header, "")), "invalid safetensors header JSON");
}

TEST(SafetensorsMalformed, DuplicateTensorName) {
  const std::string header = header_of({entry("w", "U8", "[1]", 0, 1), entry("w", "U8", "[1]", 0, 1)});
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(header, "a")),
                     "duplicate key in safetensors header: '/models/bad.safetensors': expected each key once, got "
                     "'w' twice");
}

TEST(SafetensorsMalformed, DuplicateFieldInsideAnEntry) {
  const std::string header = R"({"w":{"dtype":"U8","shape":[1],"shape":[1],"data_offsets":[0,1]}})";
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(header, "a")), "got 'shape' twice");
}

TEST(SafetensorsMalformed, MetadataValueThatIsNotAString) {
  const std::string message = format_error_of(safetensors_file(R"({"__metadata__":{"epoch":3}})", ""));
  EXPECT_MESSAGE_HAS(message, "invalid __metadata__ value for key 'epoch': '/models/bad.safetensors': expected a "
                              "string, got a number 3");
}

TEST(SafetensorsMalformed, MetadataThatIsNotAnObject) {
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(R"({"__metadata__":["pt"]})", "")),
                     "invalid __metadata__: '/models/bad.safetensors': expected an object of strings, got an array");
}

TEST(SafetensorsMalformed, EntryThatIsNotAnObject) {
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(R"({"w":null})", "")),
                     "invalid safetensors entry: tensor 'w' in '/models/bad.safetensors': expected an object with "
                     "dtype, shape and data_offsets, got null");
}

TEST(SafetensorsMalformed, EntryWithoutDataOffsets) {
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(R"({"w":{"dtype":"U8","shape":[0]}})", "")),
                     "tensor 'w' in '/models/bad.safetensors': expected a field 'data_offsets', got none");
}

TEST(SafetensorsMalformed, UnknownDtype) {
  const std::string message = format_error_of(safetensors_file(header_of({entry("w", "F17", "[1]", 0, 4)}), "abcd"));
  EXPECT_MESSAGE_HAS(message, "unknown dtype: tensor 'w' in '/models/bad.safetensors': expected one of BOOL, F4, ");
  EXPECT_MESSAGE_HAS(message, "got 'F17'");
}

TEST(SafetensorsMalformed, DtypeThatIsNotAString) {
  const std::string header = R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})";
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(header, "abcd")), "invalid dtype: tensor 'w'");
}

TEST(SafetensorsMalformed, NegativeDimension) {
  const std::string message = format_error_of(safetensors_file(header_of({entry("w", "F32", "[2,-1]", 0, 0)}), ""));
  EXPECT_MESSAGE_HAS(message, "invalid shape: tensor 'w' in '/models/bad.safetensors': expected an array of "
                              "non-negative integers below 2^63, got an array [2,-1]");
}

TEST(SafetensorsMalformed, FractionalOrTooLargeDimension) {
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(header_of({entry("w", "U8", "[1.0]", 0, 1)}), "a")),
                     "invalid shape");
  EXPECT_MESSAGE_HAS(
      format_error_of(safetensors_file(header_of({entry("w", "U8", "[9223372036854775808]", 0, 1)}), "a")),
      "invalid shape");
}

TEST(SafetensorsMalformed, ElementCountThatOverflows) {
  const std::string message = format_error_of(
      safetensors_file(header_of({entry("w", "U8", "[4294967296,4294967296,4294967296,0]", 0, 0)}), ""));
  EXPECT_MESSAGE_HAS(message, "tensor too large: tensor 'w'");
  EXPECT_MESSAGE_HAS(message, "expected an element count below 2^64");
}

TEST(SafetensorsMalformed, BitCountThatOverflows) {
  const std::string message =
      format_error_of(safetensors_file(header_of({entry("w", "F32", "[1152921504606846976]", 0, 8)}), "abcdefgh"));
  EXPECT_MESSAGE_HAS(message, "expected a size in bits below 2^64, got F32 [1152921504606846976]");
}

TEST(SafetensorsMalformed, SubByteTensorEndingMidByte) {
  const std::string message = format_error_of(safetensors_file(header_of({entry("w", "F4", "[3]", 0, 2)}), "ab"));
  EXPECT_MESSAGE_HAS(message, "misaligned tensor: tensor 'w' in '/models/bad.safetensors': expected a whole number "
                              "of bytes, got F4 [3] = 12 bits");
}

TEST(SafetensorsMalformed, ShapeAndByteRangeThatDisagree) {
  const std::string message =
      format_error_of(safetensors_file(header_of({entry("w", "F32", "[2,2]", 0, 8)}), "abcdefgh"));
  EXPECT_MESSAGE_HAS(message, "tensor size mismatch: tensor 'w' in '/models/bad.safetensors': expected 16 bytes for "
                              "F32 [2, 2], got data_offsets [0, 8] (8 bytes)");
}

TEST(SafetensorsMalformed, DataOffsetsThatAreNotTwoNonNegativeIntegers) {
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[0]}})", "")),
                     "invalid data_offsets: tensor 'w'");
  EXPECT_MESSAGE_HAS(
      format_error_of(safetensors_file(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[-1,-1]}})", "")),
      "invalid data_offsets: tensor 'w'");
  EXPECT_MESSAGE_HAS(
      format_error_of(safetensors_file(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":"0,0"}})", "")),
      "expected [begin, end] with two non-negative integers, got a string");
}

TEST(SafetensorsMalformed, DataOffsetsInReverseOrder) {
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(header_of({entry("w", "U8", "[0]", 8, 0)}), "")),
                     "invalid data_offsets: tensor 'w' in '/models/bad.safetensors': expected begin <= end, got an "
                     "array [8,0]");
}

TEST(SafetensorsMalformed, FirstTensorNotAtTheStartOfTheBuffer) {
  const std::string message = format_error_of(safetensors_file(header_of({entry("w", "U8", "[2]", 2, 4)}), "abcd"));
  EXPECT_MESSAGE_HAS(message, "hole in safetensors data: '/models/bad.safetensors': expected tensor 'w' to begin at "
                              "byte 0 (the start of the data buffer), got 2");
}

TEST(SafetensorsMalformed, HoleBetweenTwoTensors) {
  const std::string header = header_of({entry("a", "U8", "[2]", 0, 2), entry("b", "U8", "[2]", 3, 5)});
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(header, "abcde")),
                     "hole in safetensors data: '/models/bad.safetensors': expected tensor 'b' to begin at byte 2 "
                     "(where tensor 'a' ends), got 3");
}

TEST(SafetensorsMalformed, OverlappingTensors) {
  const std::string header = header_of({entry("b", "U8", "[2]", 1, 3), entry("a", "U8", "[2]", 0, 2)});
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(header, "abc")),
                     "overlapping tensors in safetensors data: '/models/bad.safetensors': expected tensor 'b' to "
                     "begin at byte 2 (where tensor 'a' ends), got 1");
}

TEST(SafetensorsMalformed, TwoTensorsOnTheSameRange) {
  const std::string header = header_of({entry("a", "U8", "[2]", 0, 2), entry("b", "U8", "[2]", 0, 2)});
  EXPECT_MESSAGE_HAS(format_error_of(safetensors_file(header, "ab")), "overlapping tensors in safetensors data");
}

TEST(SafetensorsMalformed, TensorEndingPastTheEndOfTheFile) {
  const std::string message = format_error_of(safetensors_file(header_of({entry("w", "U8", "[9]", 0, 9)}), "abc"));
  EXPECT_MESSAGE_HAS(message, "tensor data past the end of the file: '/models/bad.safetensors': expected tensor 'w' "
                              "to end within the 3-byte data buffer, got end offset 9");
}

TEST(SafetensorsMalformed, OffsetsNearTwoToThe64DoNotWrapAround) {
  const std::uint64_t begin = UINT64_MAX - 7;
  const std::string message =
      format_error_of(safetensors_file(header_of({entry("w", "U8", "[7]", begin, UINT64_MAX)}), "abcdefg"));
  EXPECT_MESSAGE_HAS(message, "hole in safetensors data");
}

TEST(SafetensorsMalformed, BytesAfterTheLastTensor) {
  const std::string message = format_error_of(safetensors_file(header_of({entry("w", "U8", "[2]", 0, 2)}), "abcd"));
  EXPECT_MESSAGE_HAS(message, "trailing bytes after the tensor data: '/models/bad.safetensors': expected the tensors "
                              "to cover all 4 bytes of the data buffer, got 2 covered");
}

}  // namespace
}  // namespace autotimm
