#pragma once
// The JSON header of a safetensors file, parsed and checked entry by entry (private to core/src/io).
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/io/safetensors.hpp"

namespace autotimm::detail {

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in the header's key order
  std::map<std::string, std::string> metadata;
};

/// Parses `text` (the header bytes, padding included) and checks each entry on its own: valid UTF-8 JSON, an
/// object, no duplicate keys, string-only `__metadata__`, a known dtype, a shape of non-negative integers,
/// data_offsets [begin, end] with begin ≤ end, and end − begin equal to shape × dtype size without overflow.
/// How the ranges fit together is the reader's check. Failures are FormatErrors naming `source`.
SafetensorsHeader parse_safetensors_header(std::string_view text, std::string_view source);

}  // namespace autotimm::detail
