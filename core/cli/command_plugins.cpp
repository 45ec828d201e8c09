// autotimm plugins: what is loaded, from where, and what each plugin registered.
#include <iostream>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "autotimm/names.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"
#include "command_line.hpp"
#include "commands.hpp"

namespace autotimm::cli {
namespace {

// Which registry entry won for (kind, name), so a shadowed registration can be shown as such.
template <class Entry>
void collect_winners(const Table<Entry>& table, std::map<std::pair<std::string, std::string>, std::string>& winners) {
  for (const Entry* entry : table.entries()) winners[{std::string(Entry::kKind), entry->name}] = entry->source.plugin;
}

std::map<std::pair<std::string, std::string>, std::string> winners_of(const Registry& registry) {
  std::map<std::pair<std::string, std::string>, std::string> winners;
  collect_winners(registry.backbones(), winners);
  collect_winners(registry.heads(), winners);
  collect_winners(registry.losses(), winners);
  collect_winners(registry.loggers(), winners);
  collect_winners(registry.callbacks(), winners);
  collect_winners(registry.hub_resolvers(), winners);
  collect_winners(registry.backbone_aliases(), winners);
  return winners;
}

boost::json::object to_json(const PluginRecord& plugin, const std::map<std::pair<std::string, std::string>, std::string>& winners) {
  boost::json::object out{{"name", plugin.name},       {"version", plugin.version},
                          {"description", plugin.description}, {"license", plugin.license},
                          {"origin", plugin.origin},   {"library", plugin.library},
                          {"loaded", plugin.loaded}};
  if (!plugin.loaded) out["error"] = plugin.error;
  boost::json::array entries;
  for (const auto& entry : plugin.entries) {
    auto winner = winners.find({entry.kind, entry.name});
    const bool active = winner != winners.end() && winner->second == plugin.name;
    boost::json::object item{{"kind", entry.kind}, {"name", entry.name}, {"active", active}};
    if (!active && winner != winners.end()) item["shadowed_by"] = winner->second;
    entries.push_back(std::move(item));
  }
  out["entries"] = std::move(entries);
  return out;
}

void print_text(const PluginRecord& plugin, const std::map<std::pair<std::string, std::string>, std::string>& winners) {
  if (!plugin.loaded) {
    std::cout << "refused  " << plugin.library << "\n  " << plugin.error << "\n";
    return;
  }
  std::cout << plugin.name << " " << plugin.version << "  (" << plugin.library << ")\n";
  std::cout << "  " << plugin.description << " [" << plugin.license << "]\n";
  std::map<std::string, std::vector<std::string>> by_kind;
  for (const auto& entry : plugin.entries) {
    auto winner = winners.find({entry.kind, entry.name});
    std::string shown = entry.name;
    if (winner != winners.end() && winner->second != plugin.name) shown += " (shadowed by " + winner->second + ")";
    by_kind[entry.kind].push_back(std::move(shown));
  }
  for (auto& [kind, names] : by_kind) {
    std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) { return natural_less(a, b); });
    std::cout << "  " << kind << ": " << join_names(names) << "\n";
  }
}

}  // namespace

int run_plugins(const std::vector<std::string>& args) {
  CommandLine line(args, {"--json"}, {"--list", "--path"});
  if (!line.positional().empty()) throw UsageError("unexpected argument '" + line.positional().front() + "'");

  // Refusals are part of this command's output; don't also print them as warnings.
  spdlog::set_level(spdlog::level::err);
  Registry registry;
  PluginLoader loader(registry);
  for (const auto& extra : line.values("--path")) {
    if (std::filesystem::is_directory(extra)) {
      loader.load_directory(extra);
    } else {
      loader.load_library(extra);
    }
  }
  loader.load_search_path();
  const auto winners = winners_of(registry);

  if (auto pattern = line.option("--list")) {
    std::vector<std::pair<std::string, std::string>> matches;  // (name, kind)
    for (const auto& [key, plugin] : winners) {
      if (wildcard_match(*pattern, key.second)) matches.emplace_back(key.second, key.first);
    }
    std::sort(matches.begin(), matches.end(), [](const auto& a, const auto& b) { return natural_less(a.first, b.first); });
    if (line.flag("--json")) {
      boost::json::array out;
      for (const auto& [name, kind] : matches) out.push_back(boost::json::object{{"kind", kind}, {"name", name}, {"plugin", winners.at({kind, name})}});
      std::cout << boost::json::serialize(out) << "\n";
    } else {
      for (const auto& [name, kind] : matches) std::cout << name << "  (" << kind << ", " << winners.at({kind, name}) << ")\n";
    }
    return kExitOk;
  }

  if (line.flag("--json")) {
    boost::json::array out;
    for (const auto& plugin : registry.plugins()) out.push_back(to_json(plugin, winners));
    boost::json::object document{{"search_path", boost::json::array()}, {"plugins", std::move(out)}};
    for (const auto& dir : plugin_search_path()) document["search_path"].as_array().push_back(boost::json::string(dir.string()));
    std::cout << boost::json::serialize(document) << "\n";
    return kExitOk;
  }
  if (registry.plugins().empty()) {
    std::cout << "no plugins found; searched: ";
    std::vector<std::string> dirs;
    for (const auto& dir : plugin_search_path()) dirs.push_back(dir.string());
    std::cout << join_names(dirs) << "\n";
    return kExitOk;
  }
  for (const auto& plugin : registry.plugins()) print_text(plugin, winners);
  return kExitOk;
}

}  // namespace autotimm::cli
