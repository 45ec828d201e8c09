#include "json_text.hpp"

#include <charconv>
#include <cmath>

#include <boost/json.hpp>

#include "autotimm/error.hpp"

namespace autotimm::wandb {

namespace json = boost::json;

std::string number_json(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);
  return std::string(text, result.ptr);
}

std::string string_json(std::string_view text) { return json::serialize(json::string(text)); }

namespace {

std::string join_members(const JsonMembers& members) {
  std::string out = "{";
  for (const auto& [key, value] : members) {
    if (out.size() > 1) out += ',';
    out += string_json(key);
    out += ':';
    out += value;
  }
  return out + '}';
}

/// The end of the JSON string starting at text[start] (the opening quote): the index after its closing quote.
std::size_t string_end(std::string_view text, std::size_t start) {
  for (std::size_t i = start + 1; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      return i + 1;
    }
  }
  throw FormatError("wandb: unterminated string in a history line");
}

std::size_t skip_space(std::string_view text, std::size_t i) {
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
  return i;
}

}  // namespace

std::string object_json(const JsonMembers& members) { return join_members(members); }

JsonMembers members_of(std::string_view text) {
  JsonMembers out;
  std::size_t i = skip_space(text, 0);
  if (i >= text.size() || text[i] != '{') throw FormatError("wandb: a history line is not a JSON object");
  i = skip_space(text, i + 1);
  if (i < text.size() && text[i] == '}') return out;
  while (true) {
    if (i >= text.size() || text[i] != '"') throw FormatError("wandb: expected a key in a history line");
    const std::size_t key_end = string_end(text, i);
    boost::system::error_code ec;
    const json::value key = json::parse(text.substr(i, key_end - i), ec);
    if (ec || !key.is_string()) throw FormatError("wandb: bad key in a history line");
    i = skip_space(text, key_end);
    if (i >= text.size() || text[i] != ':') throw FormatError("wandb: expected ':' in a history line");
    i = skip_space(text, i + 1);
    // The value runs to the next ',' or '}' outside strings and brackets.
    const std::size_t value_start = i;
    int depth = 0;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (c == '"') {
        i = string_end(text, i) - 1;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (depth == 0) break;
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    if (i >= text.size()) throw FormatError("wandb: a history line ends early");
    std::size_t value_end = i;
    while (value_end > value_start && (text[value_end - 1] == ' ' || text[value_end - 1] == '\n')) --value_end;
    if (value_end == value_start) throw FormatError("wandb: empty value in a history line");
    out.emplace_back(std::string(key.as_string()), std::string(text.substr(value_start, value_end - value_start)));
    if (text[i] == '}') return out;
    i = skip_space(text, i + 1);
  }
}

}  // namespace autotimm::wandb
