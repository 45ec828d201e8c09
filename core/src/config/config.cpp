#include "autotimm/config.hpp"

#include <fstream>
#include <map>
#include <set>
#include <type_traits>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"

namespace autotimm {

// Shared by a root config and all its sections: the JSON itself and, per dotted path, the keys someone asked for.
struct Config::State {
  boost::json::object root;
  std::string source;
  mutable std::map<std::string, std::set<std::string, std::less<>>, std::less<>> known;
  // Sections that were read as a whole (raw()): everything below counts as used.
  mutable std::set<std::string, std::less<>> whole;
};

namespace {

constexpr std::uintmax_t kMaxConfigBytes = 64u << 20;
const boost::json::value kNull;

std::string join_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string kind_of(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64: return "integer";
    case boost::json::kind::double_: return "number";
    case boost::json::kind::string: return "string";
    case boost::json::kind::array: return "array";
    case boost::json::kind::object: return "object";
  }
  return "value";
}

std::string shown(const boost::json::value& v) {
  std::string text = boost::json::serialize(v);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return kind_of(v) + " " + text;
}

template <class T>
struct Converter;

template <>
struct Converter<bool> {
  static constexpr const char* kName = "boolean";
  static std::optional<bool> from(const boost::json::value& v) {
    if (v.is_bool()) return v.get_bool();
    return std::nullopt;
  }
};

template <>
struct Converter<std::int64_t> {
  static constexpr const char* kName = "integer";
  static std::optional<std::int64_t> from(const boost::json::value& v) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
      return static_cast<std::int64_t>(v.get_uint64());
    // 3.0 is an integer written as a number; 3.5 is not.
    if (v.is_double()) {
      const double d = v.get_double();
      if (d == static_cast<double>(static_cast<std::int64_t>(d)) && d >= -9.0e18 && d <= 9.0e18)
        return static_cast<std::int64_t>(d);
    }
    return std::nullopt;
  }
};

template <>
struct Converter<int> {
  static constexpr const char* kName = "integer (32-bit)";
  static std::optional<int> from(const boost::json::value& v) {
    auto wide = Converter<std::int64_t>::from(v);
    if (!wide || *wide < INT32_MIN || *wide > INT32_MAX) return std::nullopt;
    return static_cast<int>(*wide);
  }
};

template <>
struct Converter<double> {
  static constexpr const char* kName = "number";
  static std::optional<double> from(const boost::json::value& v) {
    if (v.is_double()) return v.get_double();
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    return std::nullopt;
  }
};

template <>
struct Converter<float> {
  static constexpr const char* kName = "number";
  static std::optional<float> from(const boost::json::value& v) {
    auto d = Converter<double>::from(v);
    if (!d) return std::nullopt;
    return static_cast<float>(*d);
  }
};

template <>
struct Converter<std::string> {
  static constexpr const char* kName = "string";
  static std::optional<std::string> from(const boost::json::value& v) {
    if (v.is_string()) return std::string(v.get_string());
    return std::nullopt;
  }
};

template <class Element>
struct Converter<std::vector<Element>> {
  static constexpr const char* kName = std::is_same_v<Element, std::string> ? "array of strings"
                                       : std::is_same_v<Element, double>    ? "array of numbers"
                                                                            : "array of integers";
  static std::optional<std::vector<Element>> from(const boost::json::value& v) {
    if (!v.is_array()) return std::nullopt;
    std::vector<Element> out;
    out.reserve(v.get_array().size());
    for (const auto& item : v.get_array()) {
      auto converted = Converter<Element>::from(item);
      if (!converted) return std::nullopt;
      out.push_back(std::move(*converted));
    }
    return out;
  }
};

}  // namespace


Config::Config() : Config(boost::json::object{}, "<options>") {}

Config::Config(boost::json::object object, std::string source) : state_(std::make_shared<State>()), path_() {
  state_->root = std::move(object);
  state_->source = std::move(source);
  object_ = &state_->root;
}

Config::Config(std::shared_ptr<State> state, const boost::json::object* object, std::string path)
    : state_(std::move(state)), object_(object), path_(std::move(path)) {}

Config Config::parse(std::string_view json, std::string source) {
  boost::json::parse_options options;
  options.max_depth = 64;
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(json, ec, {}, options);
  if (ec) {
    // Locate the failure as line:column for the reader; Boost reports only that parsing stopped.
    boost::json::stream_parser parser({}, options);
    std::size_t consumed = parser.write_some(json.data(), json.size(), ec);
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < consumed && i < json.size(); ++i) {
      if (json[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw FormatError("invalid JSON in '" + source + "' at line " + std::to_string(line) + ", column " +
                      std::to_string(column) + ": " + ec.message() + "; fix the syntax there");
  }
  if (!value.is_object()) {
    throw FormatError("invalid options in '" + source + "': expected a JSON object, got " + kind_of(value));
  }
  return Config(std::move(value.get_object()), std::move(source));
}

Config Config::from_file(const std::filesystem::path& path) {
  const std::string shown_path = std::filesystem::absolute(path).string();
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw IoError("cannot read options file '" + shown_path + "': " + ec.message());
  if (size > kMaxConfigBytes) {
    throw FormatError("options file '" + shown_path + "' is " + std::to_string(size) +
                      " bytes: expected at most 64 MiB; is this the right file?");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open options file '" + shown_path + "'");
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) throw IoError("short read of options file '" + shown_path + "'");
  return parse(text, shown_path);
}

const boost::json::object& Config::json() const noexcept { return *object_; }
const std::string& Config::source() const noexcept { return state_->source; }

std::string Config::where(std::string_view key) const {
  return "option '" + join_path(path_, key) + "' in " + state_->source;
}

const boost::json::value* Config::lookup(std::string_view key) const {
  state_->known[path_].emplace(key);
  auto it = object_->find(key);
  return it == object_->end() ? nullptr : &it->value();
}

bool Config::contains(std::string_view key) const { return lookup(key) != nullptr; }

void Config::accept(std::string_view key) const { lookup(key); }

const boost::json::value& Config::raw(std::string_view key) const {
  const auto* value = lookup(key);
  state_->whole.insert(join_path(path_, key));
  return value ? *value : kNull;
}

Config Config::section(std::string_view key) const {
  static const boost::json::object kEmpty;
  const auto* value = lookup(key);
  state_->known[join_path(path_, key)];  // the section exists for expect_all_used even if nothing inside is read
  if (value == nullptr || value->is_null()) return Config(state_, &kEmpty, join_path(path_, key));
  if (!value->is_object()) {
    throw ConfigError(where(key) + ": expected an object, got " + shown(*value));
  }
  return Config(state_, &value->get_object(), join_path(path_, key));
}

template <class T>
std::optional<T> Config::get_optional(std::string_view key) const {
  const auto* value = lookup(key);
  if (value == nullptr || value->is_null()) return std::nullopt;
  auto converted = Converter<T>::from(*value);
  if (!converted) {
    throw ConfigError(where(key) + ": expected " + Converter<T>::kName + ", got " + shown(*value));
  }
  return converted;
}

template <class T>
T Config::get(std::string_view key, T fallback) const {
  auto value = get_optional<T>(key);
  return value ? std::move(*value) : std::move(fallback);
}

template <class T>
T Config::require(std::string_view key) const {
  auto value = get_optional<T>(key);
  if (!value) {
    throw ConfigError(where(key) + " is required: expected " + Converter<T>::kName + "; add it");
  }
  return std::move(*value);
}

void Config::expect_all_used() const {
  std::vector<std::string> problems;
  // Walk the JSON below this section; report keys nobody asked for, suggesting the closest asked-for key.
  auto walk = [&](auto&& self, const boost::json::object& object, const std::string& path) -> void {
    if (state_->whole.count(path)) return;
    auto known_it = state_->known.find(path);
    std::vector<std::string> valid;
    if (known_it != state_->known.end()) valid.assign(known_it->second.begin(), known_it->second.end());
    for (const auto& [key, value] : object) {
      const std::string child = join_path(path, key);
      const bool is_known = known_it != state_->known.end() && known_it->second.count(std::string_view(key));
      if (!is_known) {
        std::string message = "unknown option '" + child + "' in " + state_->source;
        if (auto suggestion = did_you_mean(key, valid)) message += "; did you mean '" + join_path(path, *suggestion) + "'?";
        message += valid.empty() ? std::string(" (this section accepts no options)")
                                 : " (valid options: " + join_names(valid) + ")";
        problems.push_back(std::move(message));
      } else if (value.is_object() && state_->known.count(child)) {
        self(self, value.get_object(), child);
      }
    }
  };
  walk(walk, *object_, path_);
  if (problems.empty()) return;
  std::string message = problems.front();
  for (std::size_t i = 1; i < problems.size(); ++i) message += "\n" + problems[i];
  throw ConfigError(message);
}

#define AUTOTIMM_CONFIG_INSTANTIATE(T)                                                     \
  template AUTOTIMM_API T Config::get<T>(std::string_view, T) const;                       \
  template AUTOTIMM_API std::optional<T> Config::get_optional<T>(std::string_view) const;  \
  template AUTOTIMM_API T Config::require<T>(std::string_view) const;
AUTOTIMM_CONFIG_INSTANTIATE(bool)
AUTOTIMM_CONFIG_INSTANTIATE(int)
AUTOTIMM_CONFIG_INSTANTIATE(std::int64_t)
AUTOTIMM_CONFIG_INSTANTIATE(float)
AUTOTIMM_CONFIG_INSTANTIATE(double)
AUTOTIMM_CONFIG_INSTANTIATE(std::string)
AUTOTIMM_CONFIG_INSTANTIATE(std::vector<std::int64_t>)
AUTOTIMM_CONFIG_INSTANTIATE(std::vector<double>)
AUTOTIMM_CONFIG_INSTANTIATE(std::vector<std::string>)

}  // namespace autotimm
