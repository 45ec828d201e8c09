#pragma once
// Config: a JSON object of options with typed getters. Every key a reader asks for is recorded, so once the
// consumer is done, `expect_all_used()` can name any key nobody read and suggest the closest valid one:
//
//   auto cfg = autotimm::Config::parse(R"({"lerning_rate": 0.1})", "train.json");
//   double lr = cfg.get<double>("learning_rate", 1e-3);
//   cfg.expect_all_used();  // ConfigError: unknown option 'lerning_rate' in train.json; did you mean 'learning_rate'?
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "autotimm/export.hpp"

namespace autotimm {

class AUTOTIMM_API Config {
 public:
  /// An empty object.
  Config();
  /// Wraps `object`; `source` names it in messages (a file path, "model_args of resnet50", ...).
  explicit Config(boost::json::object object, std::string source = "<options>");
  /// Parses JSON text that must be an object. FormatError names the source, line and column.
  static Config parse(std::string_view json, std::string source = "<string>");
  /// Reads and parses a JSON file (bounded at 64 MiB). IoError / FormatError name the path.
  static Config from_file(const std::filesystem::path& path);

  /// Supported T: bool, int, std::int64_t, float, double, std::string, and std::vector of int64/double/string.
  template <class T>
  T get(std::string_view key, T fallback) const;
  template <class T>
  std::optional<T> get_optional(std::string_view key) const;
  /// ConfigError naming the key when it is absent.
  template <class T>
  T require(std::string_view key) const;

  /// The nested object under `key` (empty when absent), sharing this config's record of what was read.
  Config section(std::string_view key) const;
  /// Whether the key is present; also records it as a valid option.
  bool contains(std::string_view key) const;
  /// The raw value under `key` (null when absent); the whole value counts as read.
  const boost::json::value& raw(std::string_view key) const;
  /// Marks a key as valid without reading it (an option accepted and deliberately ignored).
  void accept(std::string_view key) const;

  /// "option '<dotted.path.key>' in <source>": where a bad value is, for messages.
  std::string where(std::string_view key) const;

  /// ConfigError naming every key no reader asked for, each with the closest valid option.
  void expect_all_used() const;

  const boost::json::object& json() const noexcept;
  const std::string& source() const noexcept;
  /// Dotted location of this section inside the root ("optimizer"); empty at the root.
  const std::string& path() const noexcept { return path_; }
  bool empty() const noexcept { return json().empty(); }

 private:
  struct State;
  Config(std::shared_ptr<State> state, const boost::json::object* object, std::string path);
  const boost::json::value* lookup(std::string_view key) const;

  std::shared_ptr<State> state_;
  const boost::json::object* object_;
  std::string path_;
};

#define AUTOTIMM_CONFIG_EXTERN(T)                                                        \
  extern template AUTOTIMM_API T Config::get<T>(std::string_view, T) const;              \
  extern template AUTOTIMM_API std::optional<T> Config::get_optional<T>(std::string_view) const; \
  extern template AUTOTIMM_API T Config::require<T>(std::string_view) const;
AUTOTIMM_CONFIG_EXTERN(bool)
AUTOTIMM_CONFIG_EXTERN(int)
AUTOTIMM_CONFIG_EXTERN(std::int64_t)
AUTOTIMM_CONFIG_EXTERN(float)
AUTOTIMM_CONFIG_EXTERN(double)
AUTOTIMM_CONFIG_EXTERN(std::string)
AUTOTIMM_CONFIG_EXTERN(std::vector<std::int64_t>)
AUTOTIMM_CONFIG_EXTERN(std::vector<double>)
AUTOTIMM_CONFIG_EXTERN(std::vector<std::string>)
#undef AUTOTIMM_CONFIG_EXTERN

}  // namespace autotimm
