#pragma once
// Duplicate-key detection for JSON text (private to core/src/io). boost::json::parse keeps the last of duplicate
// keys silently; the safetensors format forbids them, so the header is scanned for them separately.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace autotimm::detail {

/// The first key that occurs twice within one object of `json`, at any depth; nullopt if there is none or if the
/// text is not valid JSON within `max_depth` levels (the caller's full parse reports that).
std::optional<std::string> first_duplicate_key(std::string_view json, std::size_t max_depth);

}  // namespace autotimm::detail
