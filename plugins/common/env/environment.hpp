#pragma once
// Environment variables as plugin settings: empty when unset, and a ConfigError naming the variable when a value
// cannot be read, so a typo in a deployment's environment is reported rather than silently ignored.
#include <cctype>
#include <cstdlib>
#include <string>

#include "autotimm/error.hpp"

namespace autotimm::env {

/// The variable's value, or empty when unset.
inline std::string text(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

/// A non-negative integer, or `fallback` when unset or empty.
inline int non_negative(const char* name, int fallback) {
  const std::string value = text(name);
  if (value.empty()) return fallback;
  try {
    std::size_t used = 0;
    const int number = std::stoi(value, &used);
    if (used == value.size() && number >= 0) return number;
  } catch (const std::exception&) {
  }
  throw ConfigError("environment variable " + std::string(name) + "='" + value +
                    "': expected a non-negative integer; fix or unset it");
}

/// "true", "1" or "yes" in any case.
inline bool flag(const char* name) {
  std::string value = text(name);
  for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return value == "true" || value == "1" || value == "yes";
}

}  // namespace autotimm::env
