#include "safetensors_header.hpp"

#include <boost/json.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "autotimm/error.hpp"
#include "json_duplicate_keys.hpp"

namespace autotimm::detail {
namespace {

// A valid header nests three levels (object → entry → shape array); the margin only serves clearer messages.
constexpr std::size_t kMaxJsonDepth = 8;
constexpr std::size_t kMaxQuotedChars = 60;
constexpr std::string_view kRemedy = "the file is corrupt or not safetensors; download or export it again";

std::string shortened(std::string text) {
  if (text.size() > kMaxQuotedChars) {
    text.resize(kMaxQuotedChars);
    text.append("...");
  }
  return text;
}

// "a string \"F17\"", "an array [2,-1]", … for the "got" part of a message.
std::string describe(const boost::json::value& value) {
  const std::string text = shortened(boost::json::serialize(value));
  switch (value.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "a boolean " + text;
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_: return "a number " + text;
    case boost::json::kind::string: return "a string " + text;
    case boost::json::kind::array: return "an array " + text;
    case boost::json::kind::object: return "an object " + text;
  }
  return text;
}

std::string format_shape(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string known_dtype_names() {
  std::string names;
  for (Dtype dtype : all_dtypes()) names += (names.empty() ? "" : ", ") + std::string(dtype_name(dtype));
  return names;
}

// JSON integers arrive as int64 or, above INT64_MAX, as uint64; doubles (3.0, 1e3) are not integers here.
std::optional<std::uint64_t> as_non_negative_integer(const boost::json::value& value) {
  if (value.is_int64() && value.get_int64() >= 0) return static_cast<std::uint64_t>(value.get_int64());
  if (value.is_uint64()) return value.get_uint64();
  return std::nullopt;
}

std::map<std::string, std::string> parse_metadata(const boost::json::value& value, const std::string& where) {
  if (!value.is_object()) {
    throw FormatError("invalid __metadata__: " + where + ": expected an object of strings, got " + describe(value) +
                      "; " + std::string(kRemedy));
  }
  std::map<std::string, std::string> metadata;
  for (const auto& [key, entry] : value.get_object()) {
    if (!entry.is_string()) {
      throw FormatError("invalid __metadata__ value for key '" + std::string(key) + "': " + where +
                        ": expected a string, got " + describe(entry) +
                        "; safetensors metadata maps strings to strings only, so " + std::string(kRemedy));
    }
    metadata.emplace(key, entry.get_string());
  }
  return metadata;
}

class TensorEntryParser {
 public:
  TensorEntryParser(std::string_view name, const std::string& where)
      : name_(name), subject_("tensor '" + std::string(name) + "' in " + where) {}

  TensorInfo parse(const boost::json::value& value) const {
    if (!value.is_object()) {
      fail("invalid safetensors entry", "an object with dtype, shape and data_offsets", describe(value));
    }
    const boost::json::object& entry = value.get_object();
    TensorInfo info;
    info.name = name_;
    info.dtype = parse_dtype_field(field(entry, "dtype"));
    info.shape = parse_shape_field(field(entry, "shape"));
    std::tie(info.begin, info.end) = parse_offsets_field(field(entry, "data_offsets"));
    check_size(info);
    return info;
  }

 private:
  [[noreturn]] void fail(std::string_view what, std::string_view expected, std::string_view got,
                         std::string_view remedy = kRemedy) const {
    throw FormatError(std::string(what) + ": " + subject_ + ": expected " + std::string(expected) + ", got " +
                      std::string(got) + "; " + std::string(remedy));
  }

  const boost::json::value& field(const boost::json::object& entry, std::string_view key) const {
    const boost::json::value* value = entry.if_contains(key);
    if (value == nullptr) {
      fail("invalid safetensors entry", "a field '" + std::string(key) + "'", "none");
    }
    return *value;
  }

  Dtype parse_dtype_field(const boost::json::value& value) const {
    if (!value.is_string()) fail("invalid dtype", "a string such as \"F32\"", describe(value));
    const std::string_view code = value.get_string();
    const std::optional<Dtype> dtype = parse_dtype(code);
    if (!dtype) {
      fail("unknown dtype", "one of " + known_dtype_names(), "'" + shortened(std::string(code)) + "'",
           "the file may come from a newer safetensors version, or be corrupt");
    }
    return *dtype;
  }

  std::vector<std::int64_t> parse_shape_field(const boost::json::value& value) const {
    constexpr std::string_view kExpected = "an array of non-negative integers below 2^63";
    if (!value.is_array()) fail("invalid shape", kExpected, describe(value));
    std::vector<std::int64_t> shape;
    shape.reserve(value.get_array().size());
    for (const boost::json::value& dimension : value.get_array()) {
      const std::optional<std::uint64_t> size = as_non_negative_integer(dimension);
      if (!size || *size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        fail("invalid shape", kExpected, describe(value));
      }
      shape.push_back(static_cast<std::int64_t>(*size));
    }
    return shape;
  }

  std::pair<std::uint64_t, std::uint64_t> parse_offsets_field(const boost::json::value& value) const {
    constexpr std::string_view kExpected = "[begin, end] with two non-negative integers";
    if (!value.is_array() || value.get_array().size() != 2) fail("invalid data_offsets", kExpected, describe(value));
    const std::optional<std::uint64_t> begin = as_non_negative_integer(value.get_array()[0]);
    const std::optional<std::uint64_t> end = as_non_negative_integer(value.get_array()[1]);
    if (!begin || !end) fail("invalid data_offsets", kExpected, describe(value));
    if (*end < *begin) fail("invalid data_offsets", "begin <= end", describe(value));
    return {*begin, *end};
  }

  // Rule 6 of docs/formats.md §1.5: the byte range holds exactly shape × dtype, computed without overflow.
  void check_size(const TensorInfo& info) const {
    const std::string declared = std::string(dtype_name(info.dtype)) + " " + format_shape(info.shape);
    std::uint64_t elements = 1;
    for (std::int64_t dimension : info.shape) {
      if (__builtin_mul_overflow(elements, static_cast<std::uint64_t>(dimension), &elements)) {
        fail("tensor too large", "an element count below 2^64", declared);
      }
    }
    std::uint64_t bits = 0;
    if (__builtin_mul_overflow(elements, static_cast<std::uint64_t>(dtype_bits(info.dtype)), &bits)) {
      fail("tensor too large", "a size in bits below 2^64", declared);
    }
    if (bits % 8 != 0) {
      fail("misaligned tensor", "a whole number of bytes", declared + " = " + std::to_string(bits) + " bits");
    }
    if (bits / 8 != info.byte_size()) {
      fail("tensor size mismatch", std::to_string(bits / 8) + " bytes for " + declared,
           "data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) + "] (" +
               std::to_string(info.byte_size()) + " bytes)");
    }
  }

  std::string name_;
  std::string subject_;
};

}  // namespace

SafetensorsHeader parse_safetensors_header(std::string_view text, std::string_view source) {
  const std::string where = "'" + std::string(source) + "'";
  boost::json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  boost::json::parser parser(boost::json::storage_ptr(), options);
  boost::json::error_code ec;
  const std::size_t consumed = parser.write(text.data(), text.size(), ec);
  if (ec) {
    throw FormatError("invalid safetensors header JSON: " + where + ": expected valid UTF-8 JSON, got '" +
                      ec.message() + "' at header byte " + std::to_string(consumed) + "; " + std::string(kRemedy));
  }
  const boost::json::value root = parser.release();
  if (!root.is_object()) {
    throw FormatError("invalid safetensors header: " + where + ": expected a JSON object, got " + describe(root) +
                      "; " + std::string(kRemedy));
  }
  if (std::optional<std::string> key = first_duplicate_key(text, kMaxJsonDepth)) {
    throw FormatError("duplicate key in safetensors header: " + where + ": expected each key once, got '" +
                      shortened(*key) + "' twice; " + std::string(kRemedy));
  }

  SafetensorsHeader header;
  header.tensors.reserve(root.get_object().size());
  for (const auto& [key, value] : root.get_object()) {
    if (key == "__metadata__") {
      header.metadata = parse_metadata(value, where);
    } else {
      header.tensors.push_back(TensorEntryParser(key, where).parse(value));
    }
  }
  return header;
}

}  // namespace autotimm::detail
