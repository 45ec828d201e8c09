#pragma once
// Finds plugin libraries, checks their descriptors and registers what they provide.
//
//   autotimm::Registry registry;
//   autotimm::PluginLoader loader(registry);
//   loader.load_search_path();                  // AUTOTIMM_PLUGIN_PATH, then the installation's plugin folder
//   for (const auto& p : registry.plugins()) ...  // what loaded, and why the others did not
//
// A library that is not a plugin, lacks the entry point, was built for another ABI / libtorch / compiler, or throws
// while registering is recorded with its reason and skipped; loading never throws for a bad library and never
// crashes. Libraries are never unloaded: objects they made may outlive every registry.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "autotimm/export.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/registry.hpp"

namespace autotimm {

class AUTOTIMM_API PluginLoader {
 public:
  explicit PluginLoader(Registry& registry) : registry_(registry) {}

  /// Loads one library. Returns its record (loaded, or refused with the reason). A library already tried by this
  /// registry is not opened again.
  const PluginRecord& load_library(const std::filesystem::path& path);
  /// Loads every `libautotimm_*.so` in `directory`, in natural order. A missing directory is skipped.
  void load_directory(const std::filesystem::path& directory);
  /// Loads from each entry of plugin_search_path(): directories are scanned, files are loaded.
  void load_search_path();
  /// Registers a plugin linked into the program (built with AUTOTIMM_STATIC_PLUGIN), with the same checks.
  const PluginRecord& load_static(const PluginDescriptor* descriptor);

 private:
  const PluginRecord& finish(PluginRecord record, const PluginDescriptor* descriptor,
                             const std::optional<std::string>& name_from_file);
  const PluginRecord& record_failure(PluginRecord record, std::string reason);
  Registry& registry_;
};

/// Where plugins are looked for, in order: each entry of AUTOTIMM_PLUGIN_PATH (colon-separated folders or files),
/// then `<folder of libautotimm>/autotimm/plugins` (the build tree's or the installation's).
AUTOTIMM_API std::vector<std::filesystem::path> plugin_search_path();

/// The plugin folder next to libautotimm.
AUTOTIMM_API std::filesystem::path default_plugin_directory();

/// The `<name>` of a file named `libautotimm_<kind>_<name>.so`, or nothing when the name does not follow that rule.
AUTOTIMM_API std::optional<std::string> plugin_name_from_file(const std::filesystem::path& path);
/// The `<kind>` of such a file (backbone, head, loss, hub, logger, callback), or nothing.
AUTOTIMM_API std::optional<std::string> plugin_kind_from_file(const std::filesystem::path& path);

/// Why `descriptor` cannot be used by this build of autotimm, or an empty string when it can. `library` and
/// `name_from_file` only shape the message (and the file-name check when given).
AUTOTIMM_API std::string check_plugin_descriptor(const PluginDescriptor& descriptor, const std::string& library,
                                                 const std::optional<std::string>& name_from_file);

}  // namespace autotimm
