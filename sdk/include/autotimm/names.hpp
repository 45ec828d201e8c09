#pragma once
// Name handling shared by every listing and "did you mean" message.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/export.hpp"

namespace autotimm {

/// The closest `count` candidates to `word` by edit distance (case-insensitive), best first.
AUTOTIMM_API std::vector<std::string> closest_names(std::string_view word, const std::vector<std::string>& candidates,
                                                    std::size_t count = 3);

/// The single closest candidate when it is close enough to be a plausible typo (edit distance at most a third of
/// the word, minimum 2, or one name containing the other); nothing otherwise. For "did you mean" hints.
AUTOTIMM_API std::optional<std::string> did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// Natural order: digit runs compare as numbers, so resnet18 < resnet50 < resnet101.
AUTOTIMM_API bool natural_less(std::string_view a, std::string_view b) noexcept;

/// Shell-style wildcard match: `*` any run, `?` one character, `[...]` a set; no other special characters.
AUTOTIMM_API bool wildcard_match(std::string_view pattern, std::string_view name) noexcept;

/// "a, b, c" (empty → "(none)").
AUTOTIMM_API std::string join_names(const std::vector<std::string>& names, std::string_view separator = ", ");

}  // namespace autotimm
