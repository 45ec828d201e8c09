#pragma once
// The Hub from the application side, through whichever hub resolver plugin is registered (the hf plugin):
//
//   auto names = autotimm::list_hf_hub_backbones({.model_name = "resnet", .limit = 5});   // "hf-hub:timm/…"
//   auto info = autotimm::hub_model_info("hf-hub:timm/resnet50.a1_in1k");
//   auto folder = autotimm::hub_download("timm/resnet50.a1_in1k@main");                   // a snapshot folder
//   auto commit = autotimm::hub_upload_folder("export/", "me/my-model", {.create_repo = true});  // needs HF_TOKEN
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/config.hpp"
#include "autotimm/export.hpp"
#include "autotimm/hub_resolver.hpp"

namespace autotimm {

class Registry;
struct HubResolverEntry;

/// Search defaults of list_hf_hub_backbones: timm models, most downloaded first.
inline HubSearchQuery timm_hub_query() {
  return HubSearchQuery{.author = "timm", .library = "timm", .sort = "downloads", .limit = 50};
}

/// `hf-hub:<id>` names of the models the search finds, in the server's order, at most `query.limit`.
AUTOTIMM_API std::vector<std::string> list_hf_hub_backbones(const HubSearchQuery& query = timm_hub_query(),
                                                            Registry* registry = nullptr);
/// The full search entries (id, downloads, likes, tags, last modified, pipeline tag).
AUTOTIMM_API std::vector<HubModelInfo> search_hub(const HubSearchQuery& query, Registry* registry = nullptr);
/// Model info of `name`: a repo id or a prefixed hub name, with an optional `@revision`; `files` lists the repo.
AUTOTIMM_API HubModelInfo hub_model_info(std::string_view name, Registry* registry = nullptr);
/// Downloads (or finds in the cache) config.json and the weights of `name`; returns the local snapshot folder.
AUTOTIMM_API std::filesystem::path hub_download(std::string_view name, Registry* registry = nullptr);

/// The models in the local Hub cache (read only; no network).
AUTOTIMM_API std::vector<HubCachedModel> hub_cached_models(Registry* registry = nullptr);

/// Frees cache space: unused blobs and abandoned partial downloads, and with `detached_snapshots` the snapshots no
/// ref points at. Reports what went (or, dry run, would go).
AUTOTIMM_API HubCacheRemoval hub_prune_cache(const HubCachePruneOptions& options, Registry* registry = nullptr);
/// Removes `name` (org/name: the whole repo; org/name@rev: that revision) from the cache.
AUTOTIMM_API HubCacheRemoval hub_remove_cached(std::string_view name, bool dry_run = false,
                                               Registry* registry = nullptr);

/// Settings every hub resolver made from now on receives, on top of the environment's (the hf plugin reads
/// endpoint, cache_dir, token, offline, symlinks, metadata_timeout_s, download_timeout_s, max_retries). Replaces
/// earlier settings; an unknown key fails at the next hub use with a ConfigError naming it.
///   autotimm::set_hub_options(autotimm::Config::parse(R"({"offline": true})"));
AUTOTIMM_API void set_hub_options(const Config& settings);
/// A resolver from `entry`'s factory with the settings above. Every hub use in the library goes through here.
AUTOTIMM_API std::shared_ptr<HubResolver> make_hub_resolver(const HubResolverEntry& entry);

/// How hub_upload_folder commits a folder.
struct HubUploadOptions {
  std::string revision = "main";
  std::string message = {};     ///< commit summary; empty: "Upload folder with autotimm"
  std::string description = {};
  bool private_repo = false;    ///< with create_repo: a new repo is private
  bool create_repo = false;     ///< create the repo when it does not exist
};

/// Commits every regular file under `folder` (recursively, paths relative to it with '/'; `.git/` and
/// `.cache/huggingface/` left out, as huggingface_hub's upload_folder does) to the hub repo `repo` ("org/name",
/// a hub prefix allowed). Needs a token with write access (HF_TOKEN). NotFoundError for a missing or empty folder.
AUTOTIMM_API HubUploadResult hub_upload_folder(const std::filesystem::path& folder, std::string_view repo,
                                               const HubUploadOptions& options = {}, Registry* registry = nullptr);

/// `name` without a hub prefix, split at '@': "hf-hub:timm/x@v1" → {"timm/x", "v1"}; "timm/x" keeps "timm/".
AUTOTIMM_API HubModelRef parse_hub_name(std::string_view name);

}  // namespace autotimm
