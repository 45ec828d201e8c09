#include "json_duplicate_keys.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <unordered_set>
#include <vector>

namespace autotimm::detail {
namespace {

using boost::json::error_code;
using boost::json::string_view;

// SAX handler that remembers the keys of every open object and stops at the first repeat.
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  std::optional<std::string> duplicate;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t, error_code&) { return true; }
  bool on_object_begin(error_code&) {
    open_objects_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    open_objects_.pop_back();
    return true;
  }
  bool on_string_part(string_view, std::size_t, error_code&) { return true; }
  bool on_string(string_view, std::size_t, error_code&) { return true; }
  bool on_key_part(string_view part, std::size_t, error_code&) {
    key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(string_view last_part, std::size_t, error_code& ec) {
    key_.append(last_part.data(), last_part.size());
    const bool is_new = open_objects_.back().insert(key_).second;
    if (!is_new) {
      duplicate = std::move(key_);
      // Any error stops the parser; `duplicate` says which one it was.
      ec = boost::json::error::exception;
    }
    key_.clear();
    return is_new;
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, string_view, error_code&) { return true; }
  bool on_uint64(std::uint64_t, string_view, error_code&) { return true; }
  bool on_double(double, string_view, error_code&) { return true; }
  bool on_bool(bool, error_code&) { return true; }
  bool on_null(error_code&) { return true; }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

 private:
  std::vector<std::unordered_set<std::string>> open_objects_;
  std::string key_;
};

}  // namespace

std::optional<std::string> first_duplicate_key(std::string_view json, std::size_t max_depth) {
  boost::json::parse_options options;
  options.max_depth = max_depth;
  boost::json::basic_parser<DuplicateKeyFinder> parser(options);
  error_code ec;
  parser.write_some(false, json.data(), json.size(), ec);
  return std::move(parser.handler().duplicate);
}

}  // namespace autotimm::detail
