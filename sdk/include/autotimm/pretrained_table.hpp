#pragma once
// A family's pretrained tags as a table of "arch.tag" entries, the counterpart of timm's default_cfgs: the lookups
// every family's pretrained.cpp makes over its own table, whatever its entries hold besides the key.
//
//   constexpr TagEntry kTags[] = {{"resnet50.a1_in1k", ...}, {"resnet50.untrained", ..., untrained}};
//   std::vector<PretrainedCfg> resnet_pretrained_cfgs(std::string_view arch) {
//     return autotimm::tagged_cfgs(kTags, arch, make_cfg, is_untrained);
//   }
#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "autotimm/pretrained_cfg.hpp"

namespace autotimm {

/// True when `key` ("arch.tag") is a tag of `arch`.
inline bool is_tag_of(std::string_view key, std::string_view arch) noexcept {
  return key.size() > arch.size() && key.substr(0, arch.size()) == arch && key[arch.size()] == '.';
}

/// "arch.tag" → {"arch", "tag"}; a key without a dot is an architecture with an empty tag.
inline std::pair<std::string, std::string> split_arch_tag(std::string_view key) {
  const auto dot = key.find('.');
  if (dot == std::string_view::npos) return {std::string(key), std::string()};
  return {std::string(key.substr(0, dot)), std::string(key.substr(dot + 1))};
}

/// The cfgs of `arch`'s tags that have weights, in table order: timm's generate_default_cfgs makes the first the
/// default. `make(entry)` builds a cfg, `untrained(entry)` tells entries that only describe preprocessing.
template <class Table, class MakeCfg, class Untrained>
std::vector<PretrainedCfg> tagged_cfgs(const Table& table, std::string_view arch, MakeCfg&& make,
                                       Untrained&& untrained) {
  std::vector<PretrainedCfg> cfgs;
  for (const auto& entry : table) {
    if (is_tag_of(entry.key, arch) && !untrained(entry)) cfgs.push_back(make(entry));
  }
  return cfgs;
}

/// The cfg a freshly built `arch` reports: its default tag's; without weights, the table's untrained entry for it;
/// for an architecture the table does not know, `fallback()`.
template <class Table, class MakeCfg, class Untrained, class Fallback>
PretrainedCfg default_tagged_cfg(const Table& table, std::string_view arch, MakeCfg&& make, Untrained&& untrained,
                                 Fallback&& fallback) {
  auto cfgs = tagged_cfgs(table, arch, make, untrained);
  if (!cfgs.empty()) return std::move(cfgs.front());
  const auto found = std::find_if(std::begin(table), std::end(table),
                                  [&](const auto& entry) { return is_tag_of(entry.key, arch) && untrained(entry); });
  if (found != std::end(table)) return make(*found);
  return fallback();
}

}  // namespace autotimm
