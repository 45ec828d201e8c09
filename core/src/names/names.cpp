#include "autotimm/names.hpp"

#include <algorithm>
#include <cctype>
#include <numeric>

namespace autotimm {
namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Optimal string alignment distance: Levenshtein plus adjacent transpositions, the commonest typo.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

bool contains_ignoring_case(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return false;
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char x, char y) { return lower(x) == lower(y); });
  return it != haystack.end();
}

}  // namespace

std::vector<std::string> closest_names(std::string_view word, const std::vector<std::string>& candidates,
                                       std::size_t count) {
  struct Scored {
    std::size_t score;
    const std::string* name;
  };
  std::vector<Scored> scored;
  scored.reserve(candidates.size());
  for (const auto& candidate : candidates) {
    std::size_t score = edit_distance(word, candidate);
    // A name that contains the word (or is contained in it) is a better guess than its raw distance suggests:
    // "convnext" should propose "convnext_tiny" before "convnet".
    if (contains_ignoring_case(candidate, word) || contains_ignoring_case(word, candidate)) score = score / 2;
    scored.push_back({score, &candidate});
  }
  std::stable_sort(scored.begin(), scored.end(), [](const Scored& x, const Scored& y) {
    if (x.score != y.score) return x.score < y.score;
    return natural_less(*x.name, *y.name);
  });
  std::vector<std::string> result;
  for (std::size_t i = 0; i < scored.size() && result.size() < count; ++i) result.push_back(*scored[i].name);
  return result;
}

std::optional<std::string> did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto best = closest_names(word, candidates, 1);
  if (best.empty()) return std::nullopt;
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  if (edit_distance(word, best.front()) <= limit || contains_ignoring_case(best.front(), word) ||
      contains_ignoring_case(word, best.front())) {
    return best.front();
  }
  return std::nullopt;
}

bool natural_less(std::string_view a, std::string_view b) noexcept {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool digit_a = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool digit_b = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (digit_a && digit_b) {
      std::size_t ei = i, ej = j;
      while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei]))) ++ei;
      while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej]))) ++ej;
      // Compare numerically without overflow: strip leading zeros, then longer is larger, then lexicographic.
      std::size_t si = i, sj = j;
      while (si + 1 < ei && a[si] == '0') ++si;
      while (sj + 1 < ej && b[sj] == '0') ++sj;
      const std::string_view na = a.substr(si, ei - si), nb = b.substr(sj, ej - sj);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ei;
      j = ej;
      continue;
    }
    if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
    ++i;
    ++j;
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;
}

bool wildcard_match(std::string_view pattern, std::string_view name) noexcept {
  // Iterative matcher with single-star backtracking: linear in practice, no recursion on hostile patterns.
  std::size_t p = 0, n = 0, star_p = std::string_view::npos, star_n = 0;
  auto match_set = [&](std::size_t& pos, char c) -> int {  // -1 malformed, 0 no, 1 yes
    std::size_t q = pos + 1;
    bool negate = false;
    if (q < pattern.size() && (pattern[q] == '!' || pattern[q] == '^')) {
      negate = true;
      ++q;
    }
    bool matched = false, first = true;
    while (q < pattern.size() && (first || pattern[q] != ']')) {
      first = false;
      if (q + 2 < pattern.size() && pattern[q + 1] == '-' && pattern[q + 2] != ']') {
        if (pattern[q] <= c && c <= pattern[q + 2]) matched = true;
        q += 3;
      } else {
        if (pattern[q] == c) matched = true;
        ++q;
      }
    }
    if (q >= pattern.size()) return -1;
    pos = q + 1;
    return matched != negate ? 1 : 0;
  };
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_n = n;
      continue;
    }
    if (p < pattern.size()) {
      if (pattern[p] == '?') {
        ++p;
        ++n;
        continue;
      }
      if (pattern[p] == '[') {
        std::size_t next = p;
        const int r = match_set(next, name[n]);
        if (r == 1) {
          p = next;
          ++n;
          continue;
        }
        if (r == -1 && name[n] == '[') {  // an unclosed '[' is literal
          ++p;
          ++n;
          continue;
        }
      } else if (pattern[p] == name[n]) {
        ++p;
        ++n;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    n = ++star_n;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string join_names(const std::vector<std::string>& names, std::string_view separator) {
  if (names.empty()) return "(none)";
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += separator;
    out += names[i];
  }
  return out;
}

}  // namespace autotimm
