#include "autotimm/plugin_loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include <boost/dll/shared_library.hpp>
#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "autotimm/loggers/csv_logger.hpp"
#include "autotimm/names.hpp"
#include "autotimm/trainer/callbacks.hpp"

namespace autotimm {
namespace {

// Every library ever opened stays open for the life of the process: factories and the objects they made run code
// from it, and may outlive any registry. The container is leaked on purpose so no exit-time destructor closes them.
class ResidentLibraries {
 public:
  static ResidentLibraries& instance() {
    static auto* libraries = new ResidentLibraries();
    return *libraries;
  }
  void keep(boost::dll::shared_library library) {
    std::lock_guard lock(mutex_);
    libraries_.push_back(std::move(library));
  }

 private:
  std::mutex mutex_;
  std::vector<boost::dll::shared_library> libraries_;
};

std::string text_or(const char* value, const char* fallback = "") { return value ? value : fallback; }

std::string abi_text(std::uint32_t major, std::uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

PluginRecord record_from(const PluginDescriptor& d, std::string library) {
  PluginRecord record;
  record.name = text_or(d.name);
  record.version = text_or(d.version);
  record.description = text_or(d.description);
  record.license = text_or(d.license);
  record.origin = text_or(d.origin);
  record.library = std::move(library);
  return record;
}

}  // namespace

std::string check_plugin_descriptor(const PluginDescriptor& d, const std::string& library,
                                    const std::optional<std::string>& name_from_file) {
  const std::string who =
      "plugin '" + text_or(d.name, name_from_file ? name_from_file->c_str() : "?") + "' (" + library + ")";
  const std::string ours = abi_text(kPluginAbiMajor, kPluginAbiMinor);
  if (d.abi_major != kPluginAbiMajor) {
    return who + ": built for plugin ABI " + abi_text(d.abi_major, d.abi_minor) + ", this autotimm uses " + ours +
           "; rebuild it against this installation's SDK";
  }
  if (d.abi_minor > kPluginAbiMinor) {
    return who + ": built for plugin ABI " + abi_text(d.abi_major, d.abi_minor) + ", newer than this autotimm's " +
           ours + "; upgrade autotimm or rebuild the plugin against this installation's SDK";
  }
  if (d.struct_size < sizeof(PluginDescriptor)) {
    return who + ": descriptor is " + std::to_string(d.struct_size) + " bytes, expected at least " +
           std::to_string(sizeof(PluginDescriptor)) + " for ABI " + abi_text(d.abi_major, d.abi_minor) +
           "; rebuild it against this installation's SDK";
  }
  const std::pair<const char*, const char*> required[] = {
      {"name", d.name},       {"version", d.version},         {"description", d.description},
      {"license", d.license}, {"sdk_version", d.sdk_version}, {"torch_version", d.torch_version},
      {"cxx_abi", d.cxx_abi}};
  for (const auto& [field, value] : required) {
    if (value == nullptr || *value == '\0') {
      return who + ": descriptor field '" + field + "' is empty; set it in the plugin's AUTOTIMM_PLUGIN(...)";
    }
  }
  if (d.register_fn == nullptr) {
    return who + ": descriptor has no register_fn; set .register_fn in the plugin's AUTOTIMM_PLUGIN(...)";
  }
  if (name_from_file && *name_from_file != d.name) {
    return who + ": file name says the plugin is '" + *name_from_file + "', its descriptor says '" + d.name +
           "'; name the file libautotimm_<kind>_" + d.name + ".so or fix the name in AUTOTIMM_PLUGIN(...)";
  }
  if (std::strcmp(d.torch_version, kTorchVersion) != 0) {
    return who + ": built against libtorch " + d.torch_version + ", this autotimm uses " + kTorchVersion +
           "; rebuild it against this installation";
  }
  if (std::strcmp(d.cxx_abi, AUTOTIMM_CXX_ABI) != 0) {
    return who + ": built with " + d.cxx_abi + ", this autotimm uses " + AUTOTIMM_CXX_ABI +
           "; rebuild it with the same compiler and standard library settings";
  }
  return {};
}

const PluginRecord& PluginLoader::record_failure(PluginRecord record, std::string reason) {
  spdlog::warn("{}", reason);
  record.loaded = false;
  record.entries.clear();
  record.error = std::move(reason);
  registry_.record_plugin(std::move(record));
  return registry_.plugins().back();
}

const PluginRecord& PluginLoader::finish(PluginRecord record, const PluginDescriptor* descriptor,
                                         const std::optional<std::string>& name_from_file) {
  auto refuse = [&](std::string reason) -> const PluginRecord& { return record_failure(std::move(record), reason); };
  if (descriptor == nullptr) {
    return refuse("plugin library '" + record.library + "': its entry point returned no descriptor");
  }
  const std::string library = record.library;
  record = record_from(*descriptor, library);
  if (auto problem = check_plugin_descriptor(*descriptor, library, name_from_file); !problem.empty()) {
    return refuse(std::move(problem));
  }
  // Names are unique per kind: the head and the loss family of a task may share a name ("classification").
  const auto kind = plugin_kind_from_file(library);
  for (const auto& other : registry_.plugins()) {
    if (other.loaded && other.name == record.name && plugin_kind_from_file(other.library) == kind) {
      return refuse("plugin '" + record.name + "' (" + library + ") is already loaded from " + other.library +
                    "; remove one copy from the plugin path");
    }
  }
  Registrar registrar({record.name, library});
  try {
    descriptor->register_fn(registrar);
    record.entries = registry_.commit(registrar);
  } catch (const std::exception& e) {
    return refuse("plugin '" + record.name + "' (" + library + ") failed to register: " + e.what() +
                  "; it provides nothing");
  } catch (...) {
    return refuse("plugin '" + record.name + "' (" + library +
                  ") failed to register: it threw something that is not a std::exception; it provides nothing");
  }
  record.loaded = true;
  spdlog::debug("loaded plugin '{}' {} from {} ({} entries)", record.name, record.version, library,
                record.entries.size());
  registry_.record_plugin(std::move(record));
  return registry_.plugins().back();
}

const PluginRecord& PluginLoader::load_library(const std::filesystem::path& path) {
  std::error_code fs_ec;
  auto absolute = std::filesystem::weakly_canonical(std::filesystem::absolute(path), fs_ec);
  if (fs_ec) absolute = std::filesystem::absolute(path);
  const std::string library = absolute.string();
  if (const auto* seen = registry_.find_plugin_by_library(library)) return *seen;

  PluginRecord record;
  record.library = library;
  record.name = plugin_name_from_file(absolute).value_or(absolute.filename().string());
  auto refuse = [&](std::string reason) -> const PluginRecord& { return record_failure(std::move(record), reason); };

  if (!std::filesystem::is_regular_file(absolute, fs_ec)) {
    return refuse("plugin library '" + library + "' does not exist or is not a file");
  }

  // Immediate binding: an unresolved symbol is a load error naming the symbol, not a crash mid-epoch.
  boost::dll::fs::error_code ec;
  boost::dll::shared_library handle;
  handle.load(absolute, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec || !handle.is_loaded()) {
    const char* reason = dlerror();
    return refuse("cannot load plugin library '" + library + "': " + (reason ? reason : ec.message()) +
                  "; is it a shared library built for this machine?");
  }
  if (!handle.has(kPluginEntryPoint)) {
    ResidentLibraries::instance().keep(std::move(handle));
    return refuse("'" + library + "' is not an autotimm plugin: it does not export '" +
                  std::string(kPluginEntryPoint) + "'; define one with AUTOTIMM_PLUGIN(...) in its plugin.cpp");
  }
  using EntryPoint = const PluginDescriptor*() noexcept;
  const PluginDescriptor* descriptor = handle.get<EntryPoint>(kPluginEntryPoint)();
  ResidentLibraries::instance().keep(std::move(handle));
  return finish(std::move(record), descriptor, plugin_name_from_file(absolute));
}

const PluginRecord& PluginLoader::load_static(const PluginDescriptor* descriptor) {
  PluginRecord record;
  record.library = "(linked into the program)";
  return finish(std::move(record), descriptor, std::nullopt);
}

void PluginLoader::load_directory(const std::filesystem::path& directory) {
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) return;
  std::vector<std::filesystem::path> files;
  for (const auto& item : std::filesystem::directory_iterator(directory, ec)) {
    if (plugin_name_from_file(item.path())) files.push_back(item.path());
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return natural_less(a.filename().string(), b.filename().string()); });
  for (const auto& file : files) load_library(file);
}

void PluginLoader::load_search_path() {
  for (const auto& entry : plugin_search_path()) {
    std::error_code ec;
    if (std::filesystem::is_directory(entry, ec)) {
      load_directory(entry);
    } else if (std::filesystem::exists(entry, ec)) {
      load_library(entry);
    } else {
      spdlog::debug("plugin path entry '{}' does not exist; skipped", entry.string());
    }
  }
}

Registry& registry() {
  // Leaked on purpose: entries hold factories from plugin libraries, which are never unloaded either.
  static Registry* instance = [] {
    auto* created = new Registry();
    // The core's own entries (callbacks, the CSV logger) first, so config files name them like plugin entries.
    Registrar builtins({"autotimm", "libautotimm"});
    register_builtin_callbacks(builtins);
    register_builtin_loggers(builtins);
    created->commit(builtins);
    PluginLoader(*created).load_search_path();
    return created;
  }();
  return *instance;
}

}  // namespace autotimm
