#pragma once
// Reading a family's model arguments (a timm config.json's model_args plus create_model's keywords) into its options
// struct: one line per key, the struct's value kept when the key is absent, and choices checked against a table.
//
//   read_arg(args, "depth", options.depth);
//   options.stem = parse_choice(kStems, args.require<std::string>("stem_type"), args.where("stem_type"), "a stem type");
//
// Unknown keys are left for the caller's Config::expect_all_used(); wrong types come from the Config getters.
#include <array>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"

namespace autotimm {

/// `field` = args[key] when present.
template <class T>
void read_arg(const Config& args, std::string_view key, T& field) {
  field = args.get<T>(key, field);
}

/// An optional field is set when the key is present (a null keeps it, as timm's create_model drops None keywords).
template <class T>
void read_arg(const Config& args, std::string_view key, std::optional<T>& field) {
  if (auto value = args.get_optional<T>(key)) field = *value;
}

/// The entry of `table` named `value`; ConfigError at `where` listing the valid names otherwise.
template <class Choice, std::size_t N>
Choice parse_choice(const std::array<std::pair<std::string_view, Choice>, N>& table, std::string_view value,
                    const std::string& where, std::string_view what) {
  std::vector<std::string> valid;
  for (const auto& [name, choice] : table) {
    if (name == value) return choice;
    valid.push_back("'" + std::string(name) + "'");
  }
  throw ConfigError(where + ": expected " + std::string(what) + " (" + join_names(valid) + "), got '" +
                    std::string(value) + "'");
}

/// A value as option messages show it: a number as iostreams print it ("0.1", "1e-06"), a list as "[1, 2, 3]".
inline std::string shown(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

template <class T>
std::string shown(const std::vector<T>& values) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
  out << "]";
  return out.str();
}

/// The ConfigError of an option a family refuses: "<model>: option '<field>': expected <expected>, got <got>" and,
/// when given, "; <advice>".
[[noreturn]] inline void fail_option(const std::string& model, const std::string& field, const std::string& expected,
                                     const std::string& got, const std::string& advice = {}) {
  throw ConfigError(model + ": option '" + field + "': expected " + expected + ", got " + got +
                    (advice.empty() ? std::string() : "; " + advice));
}

}  // namespace autotimm
