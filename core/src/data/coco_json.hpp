#pragma once
// Reading COCO-style annotation JSON (instances for detection, panoptic for segmentation): the file bounded and parsed,
// and typed field access whose errors name the file and the entry.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <boost/json.hpp>

#include "autotimm/error.hpp"

namespace autotimm::data {

class CocoJson {
 public:
  /// `kind` names the file in messages: "COCO annotations", "COCO panoptic annotations".
  CocoJson(std::filesystem::path file, std::string kind) : file_(std::move(file)), kind_(std::move(kind)) {}

  /// The parsed file; refused over `max_bytes` (`limit_option` names the option that raises it).
  boost::json::value parse(std::uintmax_t max_bytes, const std::string& limit_option) const {
    std::error_code error;
    const auto size = std::filesystem::file_size(file_, error);
    if (error) throw IoError("cannot read " + kind_ + " '" + file_.string() + "': " + error.message());
    if (size > max_bytes) {
      throw FormatError(kind_ + " '" + file_.string() + "' are " + std::to_string(size) + " bytes, over the limit of " +
                        std::to_string(max_bytes) + "; raise " + limit_option + " if the file is right");
    }
    std::ifstream in(file_, std::ios::binary);
    if (!in) throw IoError("cannot open " + kind_ + " '" + file_.string() + "'");
    std::string text(std::istreambuf_iterator<char>(in), {});
    if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
    boost::json::error_code parse_error;
    auto value = boost::json::parse(text, parse_error);
    if (parse_error) {
      throw FormatError(kind_ + " '" + file_.string() + "' are not valid JSON: " + parse_error.message());
    }
    return value;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(kind_ + " '" + file_.string() + "': " + what);
  }

  const boost::json::array& array_at(const boost::json::object& o, const char* key, const std::string& where) const {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_array()) fail(where + ": expected an array '" + key + "'");
    return v->as_array();
  }

  const boost::json::object& object_of(const boost::json::value& v, const std::string& where) const {
    if (!v.is_object()) fail(where + ": expected an object");
    return v.as_object();
  }

  std::int64_t integer_at(const boost::json::object& o, const char* key, const std::string& where) const {
    const auto* v = o.if_contains(key);
    if (v != nullptr && v->is_int64()) return v->as_int64();
    if (v != nullptr && v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
      return static_cast<std::int64_t>(v->as_uint64());
    }
    fail(where + ": expected an integer '" + key + "'");
  }

  /// An integer that is an array element (an RLE's size or run lengths), not a named field.
  std::int64_t integer(const boost::json::value& v, const std::string& where) const {
    if (v.is_int64()) return v.as_int64();
    if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
      return static_cast<std::int64_t>(v.as_uint64());
    }
    fail(where + ": expected an integer");
  }

  double number(const boost::json::value& v, const std::string& where) const {
    double value = 0.0;
    if (v.is_double()) value = v.as_double();
    else if (v.is_int64()) value = static_cast<double>(v.as_int64());
    else if (v.is_uint64()) value = static_cast<double>(v.as_uint64());
    else fail(where + ": expected a number");
    if (!std::isfinite(value)) fail(where + ": expected a finite number");
    return value;
  }

  std::string string_at(const boost::json::object& o, const char* key, const std::string& where) const {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) fail(where + ": expected a string '" + key + "'");
    return std::string(v->as_string());
  }

 private:
  std::filesystem::path file_;
  std::string kind_;
};

}  // namespace autotimm::data
