#pragma once
// A fake Hugging Face Hub for tests, a handler over LocalHttpServer (a real HTTP/1.1 server on 127.0.0.1, ephemeral
// port, threads inside the test process). It serves repos from memory or from a folder and speaks the parts of the Hub API the hf plugin
// uses: /api/models search with `Link: <...>; rel="next"` pages, model info, and /{repo}/resolve/{rev}/{file}
// (HEAD and GET) with X-Repo-Commit / ETag / X-Linked-Etag headers. Large ("LFS") files redirect to a second origin
// (http://localhost:<port>/cdn/<sha256>) that honours Range, so tests can check that credentials stay home.
// Every request is recorded; failures can be injected per path.
// Writes go through the Hub's commit API (docs/export.md): POST /api/repos/create, /api/models/{repo}/preupload/{rev},
// the git-lfs batch endpoint /{repo}.git/info/lfs/objects/batch (the upload href points at a second origin,
// http://localhost:<port>/lfs-upload/<oid>, which checks the sha256 and size and refuses credentials), and the ndjson
// commit /api/models/{repo}/commit/{rev}; committed files are then served by the download routes above.
//
//   autotimm::testing::FakeHubServer hub;
//   hub.add_repo_from_folder("timm/resnet18.fixture", fixture_dir);
//   setenv("HF_ENDPOINT", hub.endpoint().c_str(), 1);
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fakes/local_http_server.hpp"

namespace autotimm::testing {

struct FakeHubRepo {
  std::string commit = {};                        ///< 40 hex; derived from the id when empty
  std::map<std::string, std::string> files = {};  ///< file name → content
  std::vector<std::string> tags = {};
  std::string pipeline_tag = "image-classification";
  std::int64_t downloads = 0;
  std::int64_t likes = 0;
  bool gated = false;                            ///< needs `Authorization: Bearer <accepted token>`
  std::vector<std::string> extra_siblings = {};  ///< listed in model info but not served (e.g. "../evil")
  bool private_repo = false;                     ///< as created through /api/repos/create
  bool read_only = false;                        ///< commits and preuploads answer 403 (no write access)
  int commits = 0;                               ///< commits received through the commit API
};

/// What the fake recorded of a request (method, target, host, authorization, range, headers, body).
using FakeHubRequest = LocalHttpRequest;
/// A failure served instead of the normal answer (error status, dropped connection, stall, cut-short body).
using FakeHubFailure = InjectedFailure;

class FakeHubServer {
 public:
  FakeHubServer();
  ~FakeHubServer();
  FakeHubServer(const FakeHubServer&) = delete;
  FakeHubServer& operator=(const FakeHubServer&) = delete;

  /// "http://127.0.0.1:<port>", what HF_ENDPOINT should be.
  std::string endpoint() const;
  std::uint16_t port() const noexcept { return server_.port(); }

  void add_repo(const std::string& repo_id, FakeHubRepo repo);
  /// Every regular file of `folder` becomes a repo file; files over 1 KiB are served as LFS through the CDN.
  void add_repo_from_folder(const std::string& repo_id, const std::filesystem::path& folder);
  /// `/old/resolve/...` answers 307 with a relative Location to `/new/resolve/...`, as for a renamed repo.
  void add_rename(const std::string& old_id, const std::string& new_id);
  void set_accepted_token(std::string token);
  void set_search_page_size(std::size_t size);
  void inject(FakeHubFailure failure);

  /// The repo as it is now (after commits), or nullopt.
  std::optional<FakeHubRepo> repo(const std::string& repo_id) const;
  /// Whether an LFS upload stored these bytes (sha256 hex), checked against the announced size.
  bool has_lfs_object(const std::string& sha256) const;

  std::vector<FakeHubRequest> requests() const;
  std::size_t request_count() const;
  void clear_requests();

  /// Content sizes above this are LFS (sha256 ETag, CDN redirect); smaller ones are plain git files (sha1-like ETag).
  static constexpr std::size_t kLfsThreshold = 1024;

 private:
  using Response = LocalHttpResponse;
  static Response error(int status, const std::string& code, const std::string& message);
  Response answer(const FakeHubRequest& request);
  Response answer_search(const std::string& query);
  Response answer_info(const std::string& rest);
  Response answer_resolve(const FakeHubRequest& request, const std::string& path);
  Response answer_cdn(const FakeHubRequest& request, const std::string& sha);
  // The commit API; each takes mutex_ itself.
  Response answer_write(const FakeHubRequest& request);
  Response answer_create(const FakeHubRequest& request);
  Response answer_preupload(const FakeHubRequest& request, const std::string& repo_id);
  Response answer_lfs_batch(const FakeHubRequest& request, const std::string& repo_id);
  Response answer_lfs_upload(const FakeHubRequest& request, const std::string& oid);
  Response answer_lfs_verify(const FakeHubRequest& request);
  Response answer_commit(const FakeHubRequest& request, const std::string& repo_id, const std::string& revision);
  /// nullopt when `request` carries the accepted token, else the 401 to send (mutex_ held).
  std::optional<Response> refuse_unauthorized(const FakeHubRequest& request) const;

  mutable std::mutex mutex_;
  std::map<std::string, FakeHubRepo> repos_;
  std::map<std::string, std::string> renames_;
  std::map<std::string, std::string> blobs_by_sha256_;
  std::map<std::string, std::size_t> lfs_announced_;  ///< oid → size, from batch requests
  std::map<std::string, std::string> lfs_uploaded_;   ///< oid → bytes, from PUTs that matched
  std::string accepted_token_ = "hf_test_token";
  std::size_t page_size_ = 2;
  LocalHttpServer server_;  // last: its threads call answer(), so it starts after and stops before the rest
};

/// Lower-case hex sha256 of `bytes`, for tests that check blob names.
std::string fake_hub_sha256(const std::string& bytes);

}  // namespace autotimm::testing
