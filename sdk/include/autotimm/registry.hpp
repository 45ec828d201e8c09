#pragma once
// The registry: one string-keyed table per kind of entry (backbones, heads, losses, loggers, callbacks, hub
// resolvers). Plugins add entries through a Registrar; applications look them up by name.
//
//   auto& entry = autotimm::registry().backbones().get("resnet50");   // NotFoundError lists the closest names
//   auto names = autotimm::registry().backbones().list("resnet*");     // wildcards, natural order
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/export.hpp"
#include "autotimm/pretrained_cfg.hpp"

namespace autotimm {

class Backbone;
class Head;
class Loss;
class Logger;
class Callback;
class HubResolver;
class Config;

/// Decides between entries of the same name: a higher rank shadows a lower one; equal ranks are a conflict.
enum class Rank : int { fallback = 0, standard = 1, preferred = 2 };
AUTOTIMM_API std::string_view to_string(Rank rank);

/// Where an entry came from, filled in by the loader (plugin name and library path).
struct AUTOTIMM_API EntrySource {
  std::string plugin = {};
  std::string library = {};
};

using BackboneFactory = std::function<std::shared_ptr<Backbone>(const Config& model_args)>;
using HeadFactory = std::function<std::shared_ptr<Head>(const Config& options)>;
using LossFactory = std::function<std::shared_ptr<Loss>(const Config& options)>;
using LoggerFactory = std::function<std::shared_ptr<Logger>(const Config& options)>;
/// Sends a run that the backend's offline mode recorded in `run_dir` to its server (`autotimm logger sync`), with
/// the logger's options for the server and credentials. Returns a one-line summary of what was sent; throws when the
/// folder is not such a run (ConfigError) or the server refused it.
using LoggerSyncFn = std::function<std::string(const std::filesystem::path& run_dir, const Config& options)>;
using CallbackFactory = std::function<std::shared_ptr<Callback>(const Config& options)>;
using HubResolverFactory = std::function<std::shared_ptr<HubResolver>(const Config& options)>;

/// A backbone architecture (a timm model name) and its pretrained tags; the first tag is the default.
struct AUTOTIMM_API BackboneEntry {
  static constexpr std::string_view kKind = "backbone";
  std::string name = {};
  BackboneFactory factory;
  std::vector<PretrainedCfg> pretrained = {};
  std::string description = {};
  Rank rank = Rank::standard;
  EntrySource source = {};
};

/// A task head (classification, fcos, deeplabv3plus, ...).
struct AUTOTIMM_API HeadEntry {
  static constexpr std::string_view kKind = "head";
  std::string name = {};
  HeadFactory factory;
  std::string description = {};
  Rank rank = Rank::standard;
  EntrySource source = {};
};

/// A loss (ce, bce, focal, giou, dice, ...).
struct AUTOTIMM_API LossEntry {
  static constexpr std::string_view kKind = "loss";
  std::string name = {};
  LossFactory factory;
  std::string description = {};
  Rank rank = Rank::standard;
  EntrySource source = {};
};

/// An experiment logger backend (tensorboard, mlflow, wandb, csv).
struct AUTOTIMM_API LoggerEntry {
  static constexpr std::string_view kKind = "logger";
  std::string name = {};
  LoggerFactory factory;
  std::string description = {};
  LoggerSyncFn sync = {};  ///< empty for a backend without an offline mode
  Rank rank = Rank::standard;
  EntrySource source = {};
};

/// A trainer callback.
struct AUTOTIMM_API CallbackEntry {
  static constexpr std::string_view kKind = "callback";
  std::string name = {};
  CallbackFactory factory;
  std::string description = {};
  Rank rank = Rank::standard;
  EntrySource source = {};
};

/// A model hub resolver, keyed by the prefix it handles ("hf-hub").
struct AUTOTIMM_API HubResolverEntry {
  static constexpr std::string_view kKind = "hub resolver";
  std::string name = {};
  HubResolverFactory factory;
  std::vector<std::string> prefixes = {};  ///< name prefixes it resolves, e.g. "hf-hub:", "hf_hub:", "timm/"
  std::string description = {};
  Rank rank = Rank::standard;
  EntrySource source = {};
};

/// A deprecated backbone name kept working: it resolves to `target` (an `arch` or `arch.tag`) with a warning that
/// names the replacement, as timm's register_model_deprecations does. Listings leave it out.
struct AUTOTIMM_API BackboneAliasEntry {
  static constexpr std::string_view kKind = "backbone alias";
  std::string name = {};
  std::string target = {};
  Rank rank = Rank::standard;
  EntrySource source = {};
};

/// One kind's table. Implemented once in libautotimm for each entry type.
struct PluginRecord;

template <class Entry>
class AUTOTIMM_API Table {
 public:
  /// The entry named `name`; NotFoundError naming the three closest known names otherwise, and any plugin of this
  /// kind that failed to load, with its reason.
  const Entry& get(std::string_view name) const;
  /// The entry named `name`, or nullptr.
  const Entry* find(std::string_view name) const noexcept;
  bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }
  /// Names matching a shell-style wildcard (`resnet*`, `*vit*`), in natural order (resnet18 before resnet101).
  std::vector<std::string> list(std::string_view pattern = "*") const;
  /// Every active entry, in natural order of names.
  std::vector<const Entry*> entries() const;
  /// Entries hidden by a higher-ranked one of the same name.
  const std::vector<Entry>& shadowed() const noexcept { return shadowed_; }
  std::size_t size() const noexcept { return entries_.size(); }

  /// Adds `entry`, resolving rank: equal rank → PluginError naming both sources; lower rank → kept as shadowed.
  void add(Entry entry);
  /// Would add() accept `entry`? Throws the same PluginError add() would, changes nothing.
  void check_can_add(const Entry& entry) const;

 private:
  friend class Registry;
  std::map<std::string, Entry, std::less<>> entries_ = {};
  std::vector<Entry> shadowed_ = {};
  // The owning registry's plugin records: an unknown name mentions the plugins of this kind that failed to load.
  const std::vector<PluginRecord>* plugins_ = nullptr;
};

/// What a plugin's register_fn receives. Entries are staged and committed all together once register_fn returns;
/// if it throws, or any entry conflicts, the plugin keeps none of them.
class AUTOTIMM_API Registrar {
 public:
  explicit Registrar(EntrySource source);
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  void add(BackboneEntry entry);
  void add(HeadEntry entry);
  void add(LossEntry entry);
  void add(LoggerEntry entry);
  void add(CallbackEntry entry);
  void add(HubResolverEntry entry);
  void add(BackboneAliasEntry entry);

  const EntrySource& source() const noexcept { return source_; }

 private:
  friend class Registry;
  EntrySource source_;
  std::vector<BackboneEntry> backbones_ = {};
  std::vector<HeadEntry> heads_ = {};
  std::vector<LossEntry> losses_ = {};
  std::vector<LoggerEntry> loggers_ = {};
  std::vector<CallbackEntry> callbacks_ = {};
  std::vector<HubResolverEntry> hub_resolvers_ = {};
  std::vector<BackboneAliasEntry> backbone_aliases_ = {};
};

/// A (kind, name) pair a plugin registered, for listings.
struct AUTOTIMM_API RegisteredName {
  std::string kind = {};
  std::string name = {};
};

/// What the loader knows about one library it tried: its descriptor fields, and what it registered or why not.
struct AUTOTIMM_API PluginRecord {
  std::string name = {};
  std::string version = {};
  std::string description = {};
  std::string license = {};
  std::string origin = {};
  std::string library = {};  ///< absolute path of the shared library
  bool loaded = false;
  std::string error = {};  ///< why it was refused or skipped, when !loaded
  std::vector<RegisteredName> entries = {};
};

class AUTOTIMM_API Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Table<BackboneEntry>& backbones() noexcept { return backbones_; }
  Table<HeadEntry>& heads() noexcept { return heads_; }
  Table<LossEntry>& losses() noexcept { return losses_; }
  Table<LoggerEntry>& loggers() noexcept { return loggers_; }
  Table<CallbackEntry>& callbacks() noexcept { return callbacks_; }
  Table<HubResolverEntry>& hub_resolvers() noexcept { return hub_resolvers_; }
  Table<BackboneAliasEntry>& backbone_aliases() noexcept { return backbone_aliases_; }
  const Table<BackboneEntry>& backbones() const noexcept { return backbones_; }
  const Table<HeadEntry>& heads() const noexcept { return heads_; }
  const Table<LossEntry>& losses() const noexcept { return losses_; }
  const Table<LoggerEntry>& loggers() const noexcept { return loggers_; }
  const Table<CallbackEntry>& callbacks() const noexcept { return callbacks_; }
  const Table<HubResolverEntry>& hub_resolvers() const noexcept { return hub_resolvers_; }
  const Table<BackboneAliasEntry>& backbone_aliases() const noexcept { return backbone_aliases_; }

  /// Adds every entry the registrar staged, or none: a conflict throws PluginError and leaves the registry as it was.
  /// Returns the names that were added.
  std::vector<RegisteredName> commit(Registrar& registrar);

  /// Every plugin library tried so far, loaded or refused, in load order.
  const std::vector<PluginRecord>& plugins() const noexcept { return plugins_; }
  void record_plugin(PluginRecord record);
  /// The record of the plugin that provided `library`, or nullptr.
  const PluginRecord* find_plugin_by_library(std::string_view library) const noexcept;

 private:
  Table<BackboneEntry> backbones_;
  Table<HeadEntry> heads_;
  Table<LossEntry> losses_;
  Table<LoggerEntry> loggers_;
  Table<CallbackEntry> callbacks_;
  Table<HubResolverEntry> hub_resolvers_;
  Table<BackboneAliasEntry> backbone_aliases_;
  std::vector<PluginRecord> plugins_ = {};
};

extern template class Table<BackboneEntry>;
extern template class Table<HeadEntry>;
extern template class Table<LossEntry>;
extern template class Table<LoggerEntry>;
extern template class Table<CallbackEntry>;
extern template class Table<HubResolverEntry>;
extern template class Table<BackboneAliasEntry>;

/// The process-wide registry, with every plugin on the search path loaded the first time it is asked for.
AUTOTIMM_API Registry& registry();

}  // namespace autotimm
