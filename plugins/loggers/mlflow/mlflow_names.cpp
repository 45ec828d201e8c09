#include "mlflow_names.hpp"

#include <charconv>
#include <chrono>
#include <cmath>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace autotimm::mlflow {

namespace {

bool allowed(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '_' || c == '/' ||
         c == '.' || c == ' ' || c == '-';
}

void flatten_into(const boost::json::object& object, const std::string& prefix,
                  std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& [key, value] : object) {
    const std::string name = prefix.empty() ? std::string(key) : prefix + "/" + std::string(key);
    if (value.is_object() && !value.as_object().empty()) {
      flatten_into(value.as_object(), name, out);
    } else {
      out.emplace_back(name, param_text(value));
    }
  }
}

}  // namespace

std::string sanitize_key(std::string_view key) {
  std::string kept;
  for (const char c : key) {
    if (allowed(c)) kept += c;
  }
  // Rebuild as a normalised relative path: MLflow rejects a leading '/', '//', and '.' or '..' parts.
  std::string out;
  std::size_t start = 0;
  while (start <= kept.size()) {
    const auto end = std::min(kept.find('/', start), kept.size());
    const std::string part = kept.substr(start, end - start);
    if (!part.empty() && part != "." && part != "..") out += (out.empty() ? "" : "/") + part;
    start = end + 1;
  }
  if (out.size() > kMaxKeyLength) out.resize(kMaxKeyLength);
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

std::string float_text(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char text[64];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  return std::string(text, end);
}

std::string param_text(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null:
      return "None";
    case boost::json::kind::bool_:
      return value.as_bool() ? "True" : "False";
    case boost::json::kind::int64:
      return std::to_string(value.as_int64());
    case boost::json::kind::uint64:
      return std::to_string(value.as_uint64());
    case boost::json::kind::double_: {
      const double d = value.as_double();
      if (!std::isfinite(d)) return float_text(d);
      // Python's repr: the shortest round trip, "1e-05" style exponents, and ".0" on integral values.
      char text[64];
      const double magnitude = std::fabs(d);
      const bool scientific = magnitude != 0.0 && (magnitude < 1e-4 || magnitude >= 1e16);
      const auto end = std::to_chars(text, text + sizeof text, d,
                                     scientific ? std::chars_format::scientific : std::chars_format::fixed).ptr;
      std::string out(text, end);
      if (scientific) {
        // to_chars writes "1e-05" already; Python writes "1e+16" too.
        return out;
      }
      if (out.find('.') == std::string::npos) out += ".0";
      return out;
    }
    case boost::json::kind::string:
      return std::string(value.as_string());
    default:
      return boost::json::serialize(value);
  }
}

std::vector<std::pair<std::string, std::string>> flatten_params(const boost::json::object& params) {
  std::vector<std::pair<std::string, std::string>> out;
  flatten_into(params, "", out);
  return out;
}

std::string truncate_utf8(std::string text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a sequence
  text.resize(cut);
  return text;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace autotimm::mlflow
