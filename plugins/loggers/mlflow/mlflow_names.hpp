#pragma once
// Names and values as MLflow accepts them: keys keep '/', lose every character outside [A-Za-z0-9_/. -] (what
// Lightning strips, ':' included because Windows forbids it), and become normalised relative paths (no leading or
// doubled '/', no '.' or '..' part), at most 250 characters. Hyperparameters are flattened with '/' and written
// as Python's str() would, so runs logged from C++ and from Lightning compare equal in the UI.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

namespace autotimm::mlflow {

inline constexpr std::size_t kMaxKeyLength = 250;
inline constexpr std::size_t kMaxParamValueLength = 6000;  // the server's limit (MLflow >= 1.28)
inline constexpr std::size_t kMaxTagValueLength = 5000;    // 8000 in new servers, 5000 in older ones: fits both

/// The key MLflow will accept; empty when nothing valid is left.
std::string sanitize_key(std::string_view key);

/// Nested objects flattened to "a/b" keys, values as text (see param_text), in the object's order.
std::vector<std::pair<std::string, std::string>> flatten_params(const boost::json::object& params);

/// Python's str() of a JSON value: True/False/None, repr of floats ("0.1", "1e-05", "3.0"), strings as they are;
/// arrays and objects as compact JSON.
std::string param_text(const boost::json::value& value);

/// The shortest text that reads back as `value` with Python's float() ("nan", "inf", "-inf" for non-finite).
std::string float_text(double value);

/// `text` cut to `limit` bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string text, std::size_t limit);

/// Milliseconds since the Unix epoch.
std::int64_t now_ms();

}  // namespace autotimm::mlflow
