#include "autotimm/hub.hpp"

#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "autotimm/registry.hpp"

#include <algorithm>
#include <mutex>

namespace autotimm {
namespace {

std::mutex settings_mutex;
boost::json::object settings_json;

std::shared_ptr<HubResolver> hf_resolver(Registry& registry) {
  const HubResolverEntry* entry = registry.hub_resolvers().find("hf-hub");
  if (entry == nullptr) {
    throw NotFoundError(
        "no Hugging Face Hub resolver is registered: the hf hub plugin (libautotimm_hub_hf.so) is not loaded; "
        "check AUTOTIMM_PLUGIN_PATH and `autotimm plugins`");
  }
  return make_hub_resolver(*entry);
}

Registry& chosen(Registry* registry) { return registry ? *registry : autotimm::registry(); }

}  // namespace

void set_hub_options(const Config& settings) {
  const std::lock_guard lock(settings_mutex);
  settings_json = settings.json();
}

std::shared_ptr<HubResolver> make_hub_resolver(const HubResolverEntry& entry) {
  boost::json::object settings;
  {
    const std::lock_guard lock(settings_mutex);
    settings = settings_json;
  }
  return entry.factory(Config(std::move(settings), "the hub settings (autotimm::set_hub_options)"));
}

HubModelRef parse_hub_name(std::string_view name) {
  for (std::string_view prefix : {"hf-hub:", "hf_hub:"}) {
    if (name.starts_with(prefix)) {
      name.remove_prefix(prefix.size());
      break;
    }
  }
  HubModelRef ref;
  const auto at = name.find('@');
  ref.repo_id = std::string(name.substr(0, at));
  if (at != std::string_view::npos) ref.revision = std::string(name.substr(at + 1));
  if (ref.repo_id.empty()) throw ConfigError("empty hub model name '" + std::string(name) + "': expected org/name[@revision]");
  return ref;
}

std::vector<HubModelInfo> search_hub(const HubSearchQuery& query, Registry* registry) {
  if (query.limit <= 0) throw ConfigError("hub search limit must be > 0, got " + std::to_string(query.limit));
  return hf_resolver(chosen(registry))->search(query);
}

std::vector<std::string> list_hf_hub_backbones(const HubSearchQuery& query, Registry* registry) {
  std::vector<std::string> names;
  for (const auto& model : search_hub(query, registry)) names.push_back("hf-hub:" + model.id);
  return names;
}

HubModelInfo hub_model_info(std::string_view name, Registry* registry) {
  return hf_resolver(chosen(registry))->model_info(parse_hub_name(name));
}

std::filesystem::path hub_download(std::string_view name, Registry* registry) {
  return hf_resolver(chosen(registry))->resolve(parse_hub_name(name));
}

std::vector<HubCachedModel> hub_cached_models(Registry* registry) {
  return hf_resolver(chosen(registry))->cached_models();
}

HubCacheRemoval hub_prune_cache(const HubCachePruneOptions& options, Registry* registry) {
  return hf_resolver(chosen(registry))->prune_cache(options);
}

HubUploadResult hub_upload_folder(const std::filesystem::path& folder, std::string_view repo,
                                  const HubUploadOptions& options, Registry* registry) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    throw NotFoundError("cannot upload '" + folder.string() + "': not a folder; pass the folder `autotimm export` wrote");
  }
  const HubModelRef ref = parse_hub_name(repo);
  if (!ref.revision.empty()) {
    throw ConfigError("upload target '" + std::string(repo) +
                      "' carries a revision; pass the branch as the revision option (--revision)");
  }
  HubUploadRequest request{.repo_id = ref.repo_id,
                           .revision = options.revision.empty() ? std::string("main") : options.revision,
                           .message = options.message,
                           .description = options.description,
                           .private_repo = options.private_repo,
                           .create_repo = options.create_repo,
                           .files = {}};
  for (auto it = fs::recursive_directory_iterator(folder); it != fs::recursive_directory_iterator(); ++it) {
    const std::string relative = fs::relative(it->path(), folder).generic_string();
    // huggingface_hub's upload_folder never sends a git folder or its own upload cache.
    if (relative == ".git" || relative == ".cache/huggingface") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) request.files.push_back({.path_in_repo = relative, .local_path = it->path()});
  }
  if (request.files.empty()) throw NotFoundError("cannot upload '" + folder.string() + "': the folder holds no files");
  std::sort(request.files.begin(), request.files.end(),
            [](const HubUploadFile& a, const HubUploadFile& b) { return a.path_in_repo < b.path_in_repo; });
  return hf_resolver(chosen(registry))->upload(request);
}

HubCacheRemoval hub_remove_cached(std::string_view name, bool dry_run, Registry* registry) {
  return hf_resolver(chosen(registry))->remove_cached(parse_hub_name(name), dry_run);
}

}  // namespace autotimm

