#pragma once
// History lines as JSON text the way the wandb client writes them: numbers with the shortest round-trip digits and
// NaN / Infinity / -Infinity as bare tokens (which strict JSON parsers refuse, so rows are kept as text, not values).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace autotimm::wandb {

using JsonMembers = std::vector<std::pair<std::string, std::string>>;  ///< key → JSON text of the value

std::string number_json(double value);
std::string string_json(std::string_view text);
/// {"key": value, ...} from members whose values are already JSON text.
std::string object_json(const JsonMembers& members);
/// The members of one JSON object's text, values as text; FormatError when `text` is not an object.
JsonMembers members_of(std::string_view text);

}  // namespace autotimm::wandb
