#include "autotimm/registry.hpp"

#include <algorithm>
#include <type_traits>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"

namespace autotimm {

std::string_view to_string(Rank rank) {
  switch (rank) {
    case Rank::fallback: return "fallback";
    case Rank::standard: return "standard";
    case Rank::preferred: return "preferred";
  }
  return "unknown";
}

namespace {

std::string describe(const EntrySource& source) {
  if (source.library.empty()) return "'" + source.plugin + "'";
  return "'" + source.plugin + "' (" + source.library + ")";
}

template <class Entry>
std::string kind_name() {
  return std::string(Entry::kKind);
}

// The <kind> part of libautotimm_<kind>_<name>.so for each entry type.
template <class Entry>
std::string_view file_kind() {
  if constexpr (std::is_same_v<Entry, HubResolverEntry>) {
    return "hub";
  } else if constexpr (std::is_same_v<Entry, BackboneAliasEntry>) {
    return "backbone";
  } else {
    return Entry::kKind;
  }
}

// "; plugin 'x' (path), which may provide it, failed to load: <reason>" for each refused library of this kind.
template <class Entry>
std::string failed_plugins_note(const std::vector<PluginRecord>* plugins) {
  if (plugins == nullptr) return {};
  std::string note;
  const std::string marker = "libautotimm_" + std::string(file_kind<Entry>()) + "_";
  for (const auto& record : *plugins) {
    if (record.loaded) continue;
    const auto slash = record.library.find_last_of('/');
    const std::string file = slash == std::string::npos ? record.library : record.library.substr(slash + 1);
    if (!file.starts_with(marker)) continue;
    note += "; plugin '" + record.name + "', which may provide it, failed to load: " + record.error;
  }
  return note;
}

}  // namespace

template <class Entry>
const Entry* Table<Entry>::find(std::string_view name) const noexcept {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

template <class Entry>
const Entry& Table<Entry>::get(std::string_view name) const {
  if (const Entry* entry = find(name)) return *entry;
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [key, _] : entries_) names.push_back(key);
  const std::string kind = kind_name<Entry>();
  const std::string note = failed_plugins_note<Entry>(plugins_);
  if (names.empty()) {
    throw NotFoundError("unknown " + kind + " '" + std::string(name) + "': no " + kind +
                        " is registered; check that its plugin is on AUTOTIMM_PLUGIN_PATH (autotimm plugins)" + note);
  }
  throw NotFoundError("unknown " + kind + " '" + std::string(name) + "'; closest: " +
                      join_names(closest_names(name, names, 3)) + " (autotimm plugins lists every name)" + note);
}

template <class Entry>
std::vector<std::string> Table<Entry>::list(std::string_view pattern) const {
  std::vector<std::string> names;
  for (const auto& [key, _] : entries_) {
    if (wildcard_match(pattern, key)) names.push_back(key);
  }
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) { return natural_less(a, b); });
  return names;
}

template <class Entry>
std::vector<const Entry*> Table<Entry>::entries() const {
  std::vector<const Entry*> out;
  for (const auto& name : list("*")) out.push_back(&entries_.find(name)->second);
  return out;
}

template <class Entry>
void Table<Entry>::check_can_add(const Entry& entry) const {
  const std::string kind = kind_name<Entry>();
  if (entry.name.empty()) {
    throw PluginError("cannot register a " + kind + " without a name (from plugin " + describe(entry.source) + ")");
  }
  if constexpr (std::is_same_v<Entry, BackboneAliasEntry>) {
    if (entry.target.empty()) {
      throw PluginError("cannot register backbone alias '" + entry.name + "' from plugin " + describe(entry.source) +
                        ": its target is empty");
    }
  } else if (!entry.factory) {
    throw PluginError("cannot register " + kind + " '" + entry.name + "' from plugin " + describe(entry.source) +
                      ": its factory is empty");
  }
  const Entry* existing = find(entry.name);
  if (existing && existing->rank == entry.rank) {
    throw PluginError(kind + " '" + entry.name + "' is registered twice at rank " +
                      std::string(to_string(entry.rank)) + ": by plugin " + describe(existing->source) +
                      " and by plugin " + describe(entry.source) +
                      "; remove one of them from the plugin path, or give one a different rank");
  }
}

template <class Entry>
void Table<Entry>::add(Entry entry) {
  check_can_add(entry);
  auto it = entries_.find(entry.name);
  if (it == entries_.end()) {
    std::string key = entry.name;
    entries_.emplace(std::move(key), std::move(entry));
  } else if (it->second.rank < entry.rank) {
    shadowed_.push_back(std::move(it->second));
    it->second = std::move(entry);
  } else {
    shadowed_.push_back(std::move(entry));
  }
}

template class Table<BackboneEntry>;
template class Table<HeadEntry>;
template class Table<LossEntry>;
template class Table<LoggerEntry>;
template class Table<CallbackEntry>;
template class Table<HubResolverEntry>;
template class Table<BackboneAliasEntry>;

Registrar::Registrar(EntrySource source) : source_(std::move(source)) {}
Registrar::~Registrar() = default;

namespace {
template <class Entry>
void stage(std::vector<Entry>& staged, Entry entry, const EntrySource& source) {
  entry.source = source;
  staged.push_back(std::move(entry));
}
}  // namespace

void Registrar::add(BackboneEntry entry) {
  for (auto& cfg : entry.pretrained) cfg.architecture = entry.name;
  stage(backbones_, std::move(entry), source_);
}
void Registrar::add(HeadEntry entry) { stage(heads_, std::move(entry), source_); }
void Registrar::add(LossEntry entry) { stage(losses_, std::move(entry), source_); }
void Registrar::add(LoggerEntry entry) { stage(loggers_, std::move(entry), source_); }
void Registrar::add(CallbackEntry entry) { stage(callbacks_, std::move(entry), source_); }
void Registrar::add(HubResolverEntry entry) { stage(hub_resolvers_, std::move(entry), source_); }
void Registrar::add(BackboneAliasEntry entry) { stage(backbone_aliases_, std::move(entry), source_); }

Registry::Registry() {
  backbones_.plugins_ = &plugins_;
  heads_.plugins_ = &plugins_;
  losses_.plugins_ = &plugins_;
  loggers_.plugins_ = &plugins_;
  callbacks_.plugins_ = &plugins_;
  hub_resolvers_.plugins_ = &plugins_;
  backbone_aliases_.plugins_ = &plugins_;
}
Registry::~Registry() = default;

namespace {

// Checks a kind's staged entries against the table and against each other, without changing anything.
template <class Entry>
void check_batch(const Table<Entry>& table, const std::vector<Entry>& staged) {
  std::map<std::string, const Entry*, std::less<>> seen;
  for (const auto& entry : staged) {
    table.check_can_add(entry);
    auto [it, inserted] = seen.emplace(entry.name, &entry);
    if (!inserted && it->second->rank == entry.rank) {
      throw PluginError(std::string(Entry::kKind) + " '" + entry.name + "' is registered twice by plugin " +
                        describe(entry.source) + "; each name may be registered once");
    }
  }
}

template <class Entry>
void commit_batch(Table<Entry>& table, std::vector<Entry>& staged, std::vector<RegisteredName>& added) {
  for (auto& entry : staged) {
    added.push_back({std::string(Entry::kKind), entry.name});
    table.add(std::move(entry));
  }
  staged.clear();
}

}  // namespace

std::vector<RegisteredName> Registry::commit(Registrar& registrar) {
  // Validate everything first so a conflict leaves the registry exactly as it was.
  check_batch(backbones_, registrar.backbones_);
  check_batch(heads_, registrar.heads_);
  check_batch(losses_, registrar.losses_);
  check_batch(loggers_, registrar.loggers_);
  check_batch(callbacks_, registrar.callbacks_);
  check_batch(hub_resolvers_, registrar.hub_resolvers_);
  check_batch(backbone_aliases_, registrar.backbone_aliases_);
  std::vector<RegisteredName> added;
  commit_batch(backbones_, registrar.backbones_, added);
  commit_batch(heads_, registrar.heads_, added);
  commit_batch(losses_, registrar.losses_, added);
  commit_batch(loggers_, registrar.loggers_, added);
  commit_batch(callbacks_, registrar.callbacks_, added);
  commit_batch(hub_resolvers_, registrar.hub_resolvers_, added);
  commit_batch(backbone_aliases_, registrar.backbone_aliases_, added);
  return added;
}

void Registry::record_plugin(PluginRecord record) { plugins_.push_back(std::move(record)); }

const PluginRecord* Registry::find_plugin_by_library(std::string_view library) const noexcept {
  for (const auto& record : plugins_) {
    if (record.library == library) return &record;
  }
  return nullptr;
}

}  // namespace autotimm
