// Cache paths and the small atomic writes (refs, markers, links). Blob downloads live in download.cpp.
#include "hub_cache.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <random>

#include "autotimm/error.hpp"
#include "autotimm/io/atomic_file.hpp"

namespace autotimm::hf {

namespace fs = std::filesystem;

namespace {

std::string random_suffix() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) out += kDigits[generator() % 16];
  return out;
}

bool has_unsafe_component(std::string_view path) {
  if (path.empty() || path.starts_with('/') || path.find('\\') != std::string_view::npos ||
      path.find('\0') != std::string_view::npos) {
    return true;
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view component = path.substr(start, end - start);
    if (component.empty() || component == "." || component == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

bool is_commit_hash(std::string_view revision) {
  return revision.size() == 40 && std::all_of(revision.begin(), revision.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
         });
}

void check_repo_filename(std::string_view filename) {
  if (has_unsafe_component(filename)) {
    throw HubError("refusing hub file name '" + std::string(filename) +
                   "': expected a relative path inside the repo, without '..', '.' or empty parts; the repo listing "
                   "is malformed or malicious, nothing was written");
  }
}

void check_revision(std::string_view revision) {
  if (has_unsafe_component(revision)) {
    throw HubError("refusing hub revision '" + std::string(revision) +
                   "': expected a branch, tag or commit without '..' or empty parts; pass e.g. '@main'");
  }
}

void check_repo_id(std::string_view repo_id) {
  const bool bad_chars = std::any_of(repo_id.begin(), repo_id.end(), [](char c) {
    return !(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/');
  });
  const auto slash = repo_id.find('/');
  const bool bad_shape = repo_id.empty() || repo_id.size() > 96 * 2 + 1 || repo_id.starts_with('/') ||
                         repo_id.ends_with('/') ||
                         (slash != std::string_view::npos && repo_id.find('/', slash + 1) != std::string_view::npos) ||
                         repo_id.find("--") != std::string_view::npos || repo_id.find("..") != std::string_view::npos ||
                         repo_id.ends_with(".git");
  if (bad_chars || bad_shape) {
    throw ConfigError("invalid hub repo id '" + std::string(repo_id) +
                      "': expected 'org/name' of letters, digits, '-', '_' and '.', without '--' or '..'; e.g. "
                      "'hf-hub:timm/resnet50.a1_in1k'");
  }
}

std::string repo_id_of_folder(const fs::path& folder) {
  std::string id = folder.filename().string();
  if (id.starts_with("models--")) id.erase(0, 8);
  for (std::size_t at = id.find("--"); at != std::string::npos; at = id.find("--", at + 1)) id.replace(at, 2, "/");
  return id;
}

std::string read_ref_file(const fs::path& file) {
  std::ifstream in(file);
  std::string commit(std::istreambuf_iterator<char>(in), {});
  while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back()))) commit.pop_back();
  return commit;
}

std::uintmax_t stored_bytes(const fs::path& path) {
  std::error_code ec;
  if (fs::is_symlink(path, ec)) return 0;
  if (fs::is_regular_file(path, ec)) return fs::file_size(path, ec);
  std::uintmax_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(path, ec)) {
    if (!entry.is_symlink(ec) && entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

HubCache::HubCache(fs::path root) : root_(std::move(root)) {}

fs::path HubCache::repo_folder(std::string_view repo_id) const {
  std::string folder = "models--";
  for (const char c : repo_id) {
    if (c == '/') {
      folder += "--";
    } else {
      folder += c;
    }
  }
  return root_ / folder;
}

fs::path HubCache::blob_path(std::string_view repo_id, std::string_view etag) const {
  return repo_folder(repo_id) / "blobs" / std::string(etag);
}

fs::path HubCache::snapshot_path(std::string_view repo_id, std::string_view commit, std::string_view filename) const {
  return repo_folder(repo_id) / "snapshots" / std::string(commit) / std::string(filename);
}

fs::path HubCache::lock_path(std::string_view repo_id, std::string_view etag) const {
  return root_ / ".locks" / repo_folder(repo_id).filename() / (std::string(etag) + ".lock");
}

std::optional<std::string> HubCache::commit_for(std::string_view repo_id, std::string_view revision) const {
  if (is_commit_hash(revision)) return std::string(revision);
  const std::string commit = read_ref_file(repo_folder(repo_id) / "refs" / std::string(revision));
  if (!is_commit_hash(commit)) return std::nullopt;
  return commit;
}

void HubCache::write_ref(std::string_view repo_id, std::string_view revision, std::string_view commit) const {
  if (revision == commit || commit_for(repo_id, revision) == std::string(commit)) return;
  const fs::path ref = repo_folder(repo_id) / "refs" / std::string(revision);
  fs::create_directories(ref.parent_path());
  write_file_atomically(ref, commit);
}

std::optional<fs::path> HubCache::cached_file(std::string_view repo_id, std::string_view revision,
                                              std::string_view filename) const {
  const auto commit = commit_for(repo_id, revision);
  if (!commit) return std::nullopt;
  const fs::path file = snapshot_path(repo_id, *commit, filename);
  if (!fs::exists(file)) return std::nullopt;  // exists() follows the link: a dangling link is not a cached file
  return file;
}

bool HubCache::known_missing(std::string_view repo_id, std::string_view commit, std::string_view filename) const {
  return fs::exists(repo_folder(repo_id) / ".no_exist" / std::string(commit) / std::string(filename));
}

void HubCache::mark_missing(std::string_view repo_id, std::string_view commit, std::string_view filename) const {
  const fs::path marker = repo_folder(repo_id) / ".no_exist" / std::string(commit) / std::string(filename);
  fs::create_directories(marker.parent_path());
  std::ofstream touch(marker, std::ios::app);
}

fs::path HubCache::link_snapshot(std::string_view repo_id, std::string_view commit, std::string_view filename,
                                 std::string_view etag) const {
  const fs::path link = snapshot_path(repo_id, commit, filename);
  fs::create_directories(link.parent_path());
  const fs::path target = fs::relative(blob_path(repo_id, etag), link.parent_path());
  // Build the link under a unique name and rename it over: concurrent processes end with one good link.
  const fs::path temporary = link.parent_path() / ("." + link.filename().string() + "." + random_suffix() + ".tmp");
  std::error_code error;
  fs::create_symlink(target, temporary, error);
  if (!error) fs::rename(temporary, link, error);
  if (error) {
    fs::remove(temporary);
    throw IoError("cannot link '" + link.string() + "' to '" + target.string() + "': " + error.message() +
                  "; check that the hub cache folder is writable");
  }
  return link;
}

void HubCache::write_cachedir_tag() const {
  const fs::path tag = root_ / "CACHEDIR.TAG";
  if (fs::exists(tag)) return;
  fs::create_directories(root_);
  write_file_atomically(tag,
                        "Signature: 8a477f597d28d172789f06886806bc55\n"
                        "# This file is a cache directory tag created by huggingface_hub.\n"
                        "# For information about cache directory tags, see: https://bford.info/cachedir/\n");
}

std::vector<HubCachedModel> HubCache::list_models() const {
  std::vector<HubCachedModel> models;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(root_, ec)) {
    const std::string name = item.path().filename().string();
    if (!name.starts_with("models--") || !item.is_directory(ec)) continue;
    HubCachedModel model;
    model.folder = item.path();
    model.repo_id = repo_id_of_folder(item.path());
    // As huggingface_hub counts it: blobs, plus snapshot files that are copies (HF_HUB_DISABLE_SYMLINKS).
    model.size_bytes = stored_bytes(item.path() / "blobs") + stored_bytes(item.path() / "snapshots");
    const fs::path refs = item.path() / "refs";
    for (const auto& ref : fs::recursive_directory_iterator(refs, ec)) {
      if (!ref.is_regular_file(ec)) continue;
      model.refs.emplace_back(fs::relative(ref.path(), refs, ec).string(), read_ref_file(ref.path()));
    }
    std::sort(model.refs.begin(), model.refs.end());
    for (const auto& snapshot : fs::directory_iterator(item.path() / "snapshots", ec)) {
      if (snapshot.is_directory(ec)) model.snapshots.push_back(snapshot.path().filename().string());
    }
    std::sort(model.snapshots.begin(), model.snapshots.end());
    models.push_back(std::move(model));
  }
  std::sort(models.begin(), models.end(), [](const auto& a, const auto& b) { return a.repo_id < b.repo_id; });
  return models;
}

}  // namespace autotimm::hf
