#pragma once
// One repo file into the cache, as huggingface_hub's hf_hub_download does (docs/hub.md §5, §6.2): HEAD for the
// commit, ETag and size; GET the content (from the CDN the HEAD pointed at) into blobs/<etag>.incomplete under a
// lock, resuming with Range after a dropped connection; size and sha256 checks; rename; relative snapshot link.
#include <filesystem>
#include <optional>
#include <string>

#include "http_client.hpp"
#include "hub_cache.hpp"
#include "hub_options.hpp"

namespace autotimm::hf {

struct FileRequest {
  std::string repo_id;
  std::string revision;  ///< branch, tag or commit; never empty here
  std::string filename;
};

class FileDownloader {
 public:
  FileDownloader(const HubOptions& options, const HttpClient& client);

  /// The snapshot path of the file, downloading it when the cache lacks it. nullopt when the Hub (or, offline, a
  /// .no_exist marker) says the repo has no such file at that revision. Throws NotFoundError / HubError otherwise.
  std::optional<std::filesystem::path> fetch(const FileRequest& request) const;

  /// Cache-only lookup: the file, nullopt when known missing; NotFoundError naming the file when not cached.
  std::optional<std::filesystem::path> from_cache_only(const FileRequest& request, const std::string& why) const;

  /// The resolve URL: {endpoint}/{repo}/resolve/{revision, all encoded}/{filename, '/' kept}.
  std::string resolve_url(const FileRequest& request) const;

  const HubCache& cache() const noexcept { return cache_; }

 private:
  struct Metadata {
    std::string commit;
    std::string etag;
    std::uintmax_t size = 0;
    std::string location;
  };
  /// Downloads into `<blob>.incomplete`, checks it and renames it to `destination` (the blob, or the snapshot file
  /// when symlinks are off).
  void download_blob(const FileRequest& request, const Metadata& metadata, const std::filesystem::path& blob,
                     const std::filesystem::path& destination) const;

  const HubOptions& options_;
  const HttpClient& client_;
  HubCache cache_;
};

}  // namespace autotimm::hf
