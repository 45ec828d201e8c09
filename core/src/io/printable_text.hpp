#pragma once
// Text taken from a file, made safe to put in an error message: control bytes escaped, long text cut.
#include <string>
#include <string_view>

namespace autotimm::detail {

/// `text` with control bytes escaped as \xNN and cut to `limit` bytes (marked with "…").
std::string printable_text(std::string_view text, std::size_t limit = 200);

}  // namespace autotimm::detail
