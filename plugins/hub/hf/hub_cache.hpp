#pragma once
// The huggingface_hub cache layout, byte for byte, so Python and C++ share downloads (docs/hub.md §6):
//   <root>/models--org--name/{blobs/<etag>, refs/<revision>, snapshots/<commit>/<file> -> ../../blobs/<etag>,
//                             .no_exist/<commit>/<file>}
//   <root>/.locks/models--org--name/<etag>.lock
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/hub_resolver.hpp"

namespace autotimm::hf {

/// True for a full 40-hex commit hash.
bool is_commit_hash(std::string_view revision);

/// Refuses (HubError) a file name that could leave the snapshot folder: empty, absolute, with `..`, `.`, empty
/// components or backslashes.
void check_repo_filename(std::string_view filename);
/// Refuses a revision that could leave refs/ or snapshots/ the same way.
void check_revision(std::string_view revision);
/// Refuses a repo id that is not `[namespace/]name` of [A-Za-z0-9_.-] without `--` or `..`.
void check_repo_id(std::string_view repo_id);

/// models--org--name → org/name (repo ids never hold "--": check_repo_id refuses it).
std::string repo_id_of_folder(const std::filesystem::path& folder);
/// The commit a refs/ file holds, trailing whitespace trimmed (empty when unreadable).
std::string read_ref_file(const std::filesystem::path& file);

/// Bytes stored under `path` (a file or a folder): regular files only, never what a link points at, so a snapshot
/// of links to blobs counts nothing and the blobs count once.
std::uintmax_t stored_bytes(const std::filesystem::path& path);

class HubCache {
 public:
  explicit HubCache(std::filesystem::path root);

  const std::filesystem::path& root() const noexcept { return root_; }
  std::filesystem::path repo_folder(std::string_view repo_id) const;
  std::filesystem::path blob_path(std::string_view repo_id, std::string_view etag) const;
  std::filesystem::path snapshot_path(std::string_view repo_id, std::string_view commit,
                                      std::string_view filename) const;
  std::filesystem::path lock_path(std::string_view repo_id, std::string_view etag) const;

  /// The commit `revision` names: itself when it is a commit hash, else refs/<revision> (trimmed), else nullopt.
  std::optional<std::string> commit_for(std::string_view repo_id, std::string_view revision) const;
  /// Writes refs/<revision> = commit (no newline, atomically) unless revision is the commit or it already says so.
  void write_ref(std::string_view repo_id, std::string_view revision, std::string_view commit) const;

  /// The snapshot file for repo@revision when the cache has it.
  std::optional<std::filesystem::path> cached_file(std::string_view repo_id, std::string_view revision,
                                                   std::string_view filename) const;
  /// Whether .no_exist/<commit>/<file> says the file is not in the repo at that commit.
  bool known_missing(std::string_view repo_id, std::string_view commit, std::string_view filename) const;
  void mark_missing(std::string_view repo_id, std::string_view commit, std::string_view filename) const;

  /// snapshots/<commit>/<file> -> ../../blobs/<etag> (relative), replacing any older link atomically.
  std::filesystem::path link_snapshot(std::string_view repo_id, std::string_view commit, std::string_view filename,
                                      std::string_view etag) const;
  /// Every `models--*` folder under the root: repo id, size, refs and snapshots, sorted by repo id.
  std::vector<HubCachedModel> list_models() const;

  /// Frees space as `options` says (cache_cleanup.cpp). A blob or partial download goes only when its download
  /// lock is free, so a running download in this or another process is never cut.
  HubCacheRemoval prune(const HubCachePruneOptions& options) const;
  /// The whole repo (empty revision), or one revision: its snapshot, every ref at that commit, its .no_exist
  /// markers and the blobs no other snapshot uses. NotFoundError when the cache holds neither.
  HubCacheRemoval remove(std::string_view repo_id, std::string_view revision, bool dry_run) const;

  /// Writes CACHEDIR.TAG at the root if missing, so backup tools skip the cache.
  void write_cachedir_tag() const;

 private:
  std::filesystem::path root_;
};

}  // namespace autotimm::hf
