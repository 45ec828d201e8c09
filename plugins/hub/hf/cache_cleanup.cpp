// Cache cleanup: `autotimm hub cache prune` and `autotimm hub cache rm`. Everything a download may be writing is
// taken only under that blob's download lock (the same lock download.cpp holds from the first byte until the
// snapshot link exists), so cleaning up beside a running download, here or in another process, never cuts it.
#include <algorithm>
#include <set>
#include <vector>

#include "autotimm/error.hpp"
#include "file_lock.hpp"
#include "hub_cache.hpp"

namespace autotimm::hf {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kIncomplete = ".incomplete";

/// Collects removals, and performs them unless it is a dry run.
class Remover {
 public:
  explicit Remover(bool dry_run) : dry_run_(dry_run) {}

  void remove(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(path, ec))) return;
    const std::uintmax_t bytes = stored_bytes(path);
    if (!dry_run_) {
      fs::remove_all(path, ec);
      if (ec) {
        throw IoError("cannot remove '" + path.string() + "' from the hub cache: " + ec.message() +
                      "; check the folder's permissions");
      }
    }
    result_.removed.push_back(path);
    result_.freed_bytes += bytes;
  }
  void in_use(const fs::path& path) { result_.in_use.push_back(path); }
  HubCacheRemoval take() { return std::move(result_); }

 private:
  bool dry_run_;
  HubCacheRemoval result_;
};

std::set<std::string> ref_commits(const fs::path& repo) {
  std::set<std::string> commits;
  std::error_code ec;
  for (const auto& ref : fs::recursive_directory_iterator(repo / "refs", ec)) {
    if (ref.is_regular_file(ec)) commits.insert(read_ref_file(ref.path()));
  }
  return commits;
}

/// Blob names the snapshots (but those in `leaving`) link to.
std::set<std::string> linked_blobs(const fs::path& repo, const std::set<std::string>& leaving) {
  std::set<std::string> blobs;
  std::error_code ec;
  for (const auto& snapshot : fs::directory_iterator(repo / "snapshots", ec)) {
    if (leaving.contains(snapshot.path().filename().string())) continue;
    for (const auto& file : fs::recursive_directory_iterator(snapshot.path(), ec)) {
      if (!file.is_symlink(ec)) continue;
      const fs::path target = fs::read_symlink(file.path(), ec);
      if (!ec && target.parent_path().filename() == "blobs") blobs.insert(target.filename().string());
    }
  }
  return blobs;
}

/// Blobs no remaining snapshot links to, and partial downloads nobody is writing.
void remove_unused_blobs(const HubCache& cache, const fs::path& repo, const std::set<std::string>& leaving,
                         Remover& remover) {
  const std::string repo_id = repo_id_of_folder(repo);
  std::error_code ec;
  std::vector<fs::path> candidates;
  const auto linked = linked_blobs(repo, leaving);
  for (const auto& blob : fs::directory_iterator(repo / "blobs", ec)) {
    const std::string name = blob.path().filename().string();
    if (name.ends_with(kIncomplete) || !linked.contains(name)) candidates.push_back(blob.path());
  }
  std::sort(candidates.begin(), candidates.end());
  for (const auto& blob : candidates) {
    std::string etag = blob.filename().string();
    if (etag.ends_with(kIncomplete)) etag.resize(etag.size() - kIncomplete.size());
    const auto lock = FileLock::try_acquire(cache.lock_path(repo_id, etag));
    if (!lock) {
      remover.in_use(blob);
      continue;
    }
    // A download may have linked the blob between the listing and the lock: look again now that none can.
    if (!blob.filename().string().ends_with(kIncomplete) && linked_blobs(repo, leaving).contains(etag)) continue;
    remover.remove(blob);
  }
}

}  // namespace

HubCacheRemoval HubCache::prune(const HubCachePruneOptions& options) const {
  Remover remover(options.dry_run);
  std::vector<fs::path> repos;
  std::error_code ec;
  if (!options.repo_id.empty()) {
    check_repo_id(options.repo_id);
    repos.push_back(repo_folder(options.repo_id));
    if (!fs::is_directory(repos.back())) {
      throw NotFoundError("'" + options.repo_id + "' is not in the hub cache '" + root_.string() +
                          "'; `autotimm hub cache list` shows what is");
    }
  } else {
    for (const auto& item : fs::directory_iterator(root_, ec)) {
      if (item.path().filename().string().starts_with("models--") && item.is_directory(ec)) {
        repos.push_back(item.path());
      }
    }
    std::sort(repos.begin(), repos.end());
  }
  for (const auto& repo : repos) {
    std::set<std::string> leaving;
    if (options.detached_snapshots) {
      const auto kept = ref_commits(repo);
      for (const auto& snapshot : fs::directory_iterator(repo / "snapshots", ec)) {
        const std::string commit = snapshot.path().filename().string();
        if (!kept.contains(commit)) leaving.insert(commit);
      }
    }
    remove_unused_blobs(*this, repo, leaving, remover);
    for (const auto& commit : leaving) {
      remover.remove(repo / "snapshots" / commit);
      remover.remove(repo / ".no_exist" / commit);
    }
  }
  return remover.take();
}

HubCacheRemoval HubCache::remove(std::string_view repo_id, std::string_view revision, bool dry_run) const {
  check_repo_id(repo_id);
  const fs::path repo = repo_folder(repo_id);
  const std::string name = std::string(repo_id) + (revision.empty() ? "" : "@" + std::string(revision));
  const auto not_cached = [&] {
    return NotFoundError("'" + name + "' is not in the hub cache '" + root_.string() +
                         "'; `autotimm hub cache list` shows what is");
  };
  if (!fs::is_directory(repo)) throw not_cached();
  Remover remover(dry_run);
  if (revision.empty()) {
    remover.remove(repo);
    return remover.take();
  }
  check_revision(revision);
  const auto commit = commit_for(repo_id, revision);
  if (!commit || !fs::is_directory(repo / "snapshots" / *commit)) throw not_cached();
  std::error_code ec;
  std::vector<fs::path> refs;
  for (const auto& ref : fs::recursive_directory_iterator(repo / "refs", ec)) {
    if (ref.is_regular_file(ec) && read_ref_file(ref.path()) == *commit) refs.push_back(ref.path());
  }
  std::sort(refs.begin(), refs.end());
  const std::set<std::string> leaving{*commit};
  remove_unused_blobs(*this, repo, leaving, remover);
  for (const auto& ref : refs) remover.remove(ref);
  remover.remove(repo / "snapshots" / *commit);
  remover.remove(repo / ".no_exist" / *commit);
  return remover.take();
}

}  // namespace autotimm::hf
