#include <dlfcn.h>

#include <cstdlib>
#include <string_view>
#include <utility>

#include "autotimm/plugin_loader.hpp"

namespace autotimm {

std::filesystem::path default_plugin_directory() {
  // The build tree and an installation share one layout: <libdir>/libautotimm.so beside <libdir>/autotimm/plugins.
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&default_plugin_directory), &info) == 0 || info.dli_fname == nullptr) {
    return {};
  }
  std::error_code ec;
  auto library = std::filesystem::canonical(info.dli_fname, ec);
  if (ec) return {};
  return library.parent_path() / "autotimm" / "plugins";
}

std::vector<std::filesystem::path> plugin_search_path() {
  std::vector<std::filesystem::path> path;
  if (const char* env = std::getenv("AUTOTIMM_PLUGIN_PATH")) {
    std::string_view rest(env);
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const auto item = rest.substr(0, colon);
      if (!item.empty()) path.emplace_back(item);
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  if (auto dir = default_plugin_directory(); !dir.empty()) path.push_back(std::move(dir));
  return path;
}

namespace {

/// `<kind>` and `<name>` of `libautotimm_<kind>_<name>.so`.
std::optional<std::pair<std::string, std::string>> split_plugin_file_name(const std::filesystem::path& path) {
  constexpr std::string_view kPrefix = "libautotimm_", kSuffix = ".so";
  const std::string file = path.filename().string();
  if (file.size() <= kPrefix.size() + kSuffix.size() || !file.starts_with(kPrefix) || !file.ends_with(kSuffix)) {
    return std::nullopt;
  }
  const std::string_view middle =
      std::string_view(file).substr(kPrefix.size(), file.size() - kPrefix.size() - kSuffix.size());
  const auto underscore = middle.find('_');  // kinds have no underscore; names may
  if (underscore == std::string_view::npos || underscore == 0 || underscore + 1 == middle.size()) return std::nullopt;
  return std::pair{std::string(middle.substr(0, underscore)), std::string(middle.substr(underscore + 1))};
}

}  // namespace

std::optional<std::string> plugin_name_from_file(const std::filesystem::path& path) {
  if (auto parts = split_plugin_file_name(path)) return parts->second;
  return std::nullopt;
}

std::optional<std::string> plugin_kind_from_file(const std::filesystem::path& path) {
  if (auto parts = split_plugin_file_name(path)) return parts->first;
  return std::nullopt;
}

}  // namespace autotimm
