#pragma once
// HubResolver: turns a hub model id (`hf-hub:timm/resnet50.a1_in1k@main`) into a local folder that holds the timm
// `config.json` and weights, and searches the hub. Registered under its prefixes ("hf-hub:", "hf_hub:", "timm/").
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "autotimm/export.hpp"

namespace autotimm {

struct HubModelRef {
  std::string repo_id = {};   ///< "timm/resnet50.a1_in1k"
  std::string revision = {};  ///< branch, tag or commit; empty = the hub's default
};

struct HubSearchQuery {
  std::string model_name = {};  ///< substring search
  std::string author = {};
  std::string tag = {};
  std::string library = {};
  std::string sort = "downloads";
  std::int64_t limit = 50;
};

/// The model card's YAML front matter as the Hub parses it (`cardData`); a string or a list in the card is a list here.
struct HubModelCard {
  std::vector<std::string> license = {};
  std::string library_name = {};
  std::vector<std::string> datasets = {};
  std::vector<std::string> metrics = {};
  std::vector<std::string> tags = {};
  std::vector<std::string> base_model = {};
};

struct HubModelInfo {
  std::string id = {};
  std::string author = {};
  std::string sha = {};           ///< the commit the revision resolved to (model info; listings with `full`)
  std::string library_name = {};
  std::string gated = {};         ///< "", "auto" or "manual"
  std::int64_t downloads = 0;
  std::int64_t likes = 0;
  std::vector<std::string> tags = {};
  std::string last_modified = {};
  std::string pipeline_tag = {};
  std::vector<std::string> files = {};
  std::optional<HubModelCard> card = {};  ///< model info only, when the repo has a card
};

/// One model in the local cache: what `autotimm hub cache list` shows.
struct HubCachedModel {
  std::string repo_id = {};
  std::filesystem::path folder = {};
  std::uintmax_t size_bytes = 0;                                ///< bytes of the files it stores
  std::vector<std::pair<std::string, std::string>> refs = {};  ///< revision → commit
  std::vector<std::string> snapshots = {};                     ///< commits with a snapshot folder
};

/// What `autotimm hub cache prune` removes: always the blobs no snapshot uses and downloads abandoned half way;
/// with `detached_snapshots` also snapshots no ref points at (old commits of a branch, and commit-pinned downloads).
struct HubCachePruneOptions {
  std::string repo_id = {};         ///< only this repo; empty = every repo in the cache
  bool detached_snapshots = false;
  bool dry_run = false;             ///< report what would go, remove nothing
};

/// What a prune or removal took away (or, in a dry run, would take).
struct HubCacheRemoval {
  std::vector<std::filesystem::path> removed = {};
  std::uintmax_t freed_bytes = 0;                  ///< stored bytes, links not counted
  std::vector<std::filesystem::path> in_use = {};  ///< left alone: a download holds its lock
};

/// One file of a commit: `path_in_repo` ("config.json", "sub/x.bin") gets the bytes of `local_path`.
struct HubUploadFile {
  std::string path_in_repo = {};
  std::filesystem::path local_path = {};
};

/// A commit of files to a Hub model repo, as huggingface_hub's create_commit makes it (docs/export.md).
struct HubUploadRequest {
  std::string repo_id = {};          ///< "org/name"
  std::string revision = "main";     ///< the branch the commit goes on
  std::string message = {};          ///< the commit summary; empty: "Upload folder with autotimm"
  std::string description = {};
  bool private_repo = false;         ///< with create_repo: make the new repo private
  bool create_repo = false;          ///< create the repo first (an existing one is fine)
  std::vector<HubUploadFile> files = {};
};

/// What the Hub made of an upload.
struct HubUploadResult {
  std::string commit_oid = {};                  ///< the new commit (40 hex)
  std::string commit_url = {};
  std::vector<std::string> regular_files = {};  ///< sent inline (base64) in the commit
  std::vector<std::string> lfs_files = {};      ///< sent through LFS (sha256 + size in the commit)
  std::vector<std::string> lfs_skipped = {};    ///< LFS objects the Hub already had: not sent again
  bool created_repo = false;                    ///< create_repo made a new repo (false: it existed)
};

class AUTOTIMM_API HubResolver {
 public:
  virtual ~HubResolver();
  /// A local snapshot folder holding config.json and the weights, downloading what the cache lacks.
  virtual std::filesystem::path resolve(const HubModelRef& model) = 0;
  virtual std::vector<HubModelInfo> search(const HubSearchQuery& query) = 0;
  virtual HubModelInfo model_info(const HubModelRef& model) = 0;
  /// The models in the local cache, by repo id; reads only the cache.
  virtual std::vector<HubCachedModel> cached_models() = 0;
  /// Frees cache space; the default says this resolver keeps no cache it can prune (HubError).
  virtual HubCacheRemoval prune_cache(const HubCachePruneOptions& options);
  /// Removes a model from the cache: the whole repo, or with a revision that revision's snapshot, the refs that
  /// point at it, and the blobs only it used. NotFoundError when the cache does not hold it.
  virtual HubCacheRemoval remove_cached(const HubModelRef& model, bool dry_run);
  /// Commits `request.files` to a repo on the hub; the default says this resolver cannot upload (HubError).
  virtual HubUploadResult upload(const HubUploadRequest& request);
};

}  // namespace autotimm
