#pragma once
// A fake Hugging Face Hub for tests: a real HTTP/1.1 server on 127.0.0.1 (ephemeral port), run in threads inside
// the test process. It serves repos from memory or from a folder and speaks the parts of the Hub API the hf plugin
// uses: /api/models search with `Link: <...>; rel="next"` pages, model info, and /{repo}/resolve/{rev}/{file}
// (HEAD and GET) with X-Repo-Commit / ETag / X-Linked-Etag headers. Large ("LFS") files redirect to a second origin
// (http://localhost:<port>/cdn/<sha256>) that honours Range, so tests can check that credentials stay home.
// Every request is recorded; failures can be injected per path.
//
//   autotimm::testing::FakeHubServer hub;
//   hub.add_repo_from_folder("timm/resnet18.fixture", fixture_dir);
//   setenv("HF_ENDPOINT", hub.endpoint().c_str(), 1);
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

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
};

struct FakeHubRequest {
  std::string method = {};
  std::string target = {};         ///< path and query as sent
  std::string host = {};           ///< the Host header: "127.0.0.1:<port>" or "localhost:<port>" (the CDN origin)
  std::string authorization = {};  ///< empty when absent
  std::string range = {};          ///< empty when absent
};

/// A failure served instead of the normal answer for the next `times` requests whose target contains `path_part`
/// (and whose method is `method`, when set).
struct FakeHubFailure {
  std::string path_part = {};
  int times = 1;
  std::string method = {};
  int status = 500;  ///< 0 drops the connection without an answer; ignored with truncate_to
  std::map<std::string, std::string> headers = {};
  std::string body = {};
  std::optional<std::size_t> truncate_to = {};  ///< serve the normal answer but close after this many body bytes
  int stall_ms = 0;                             ///< wait this long before answering (timeouts); then answer normally
};

class FakeHubServer {
 public:
  FakeHubServer();
  ~FakeHubServer();
  FakeHubServer(const FakeHubServer&) = delete;
  FakeHubServer& operator=(const FakeHubServer&) = delete;

  /// "http://127.0.0.1:<port>", what HF_ENDPOINT should be.
  std::string endpoint() const;
  std::uint16_t port() const noexcept { return port_; }

  void add_repo(const std::string& repo_id, FakeHubRepo repo);
  /// Every regular file of `folder` becomes a repo file; files over 1 KiB are served as LFS through the CDN.
  void add_repo_from_folder(const std::string& repo_id, const std::filesystem::path& folder);
  /// `/old/resolve/...` answers 307 with a relative Location to `/new/resolve/...`, as for a renamed repo.
  void add_rename(const std::string& old_id, const std::string& new_id);
  void set_accepted_token(std::string token);
  void set_search_page_size(std::size_t size);
  void inject(FakeHubFailure failure);

  std::vector<FakeHubRequest> requests() const;
  std::size_t request_count() const;
  void clear_requests();

  /// Content sizes above this are LFS (sha256 ETag, CDN redirect); smaller ones are plain git files (sha1-like ETag).
  static constexpr std::size_t kLfsThreshold = 1024;

 private:
  struct Response;
  void accept_loop();
  void handle_connection(int fd);
  Response answer(const FakeHubRequest& request);
  Response answer_search(const std::string& query);
  Response answer_info(const std::string& rest);
  Response answer_resolve(const FakeHubRequest& request, const std::string& path);
  Response answer_cdn(const FakeHubRequest& request, const std::string& sha);

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<std::thread> workers_;
  std::map<std::string, FakeHubRepo> repos_;
  std::map<std::string, std::string> renames_;
  std::map<std::string, std::string> blobs_by_sha256_;
  std::vector<FakeHubFailure> failures_;
  std::vector<FakeHubRequest> requests_;
  std::string accepted_token_ = "hf_test_token";
  std::size_t page_size_ = 2;
};

/// Lower-case hex sha256 of `bytes`, for tests that check blob names.
std::string fake_hub_sha256(const std::string& bytes);

}  // namespace autotimm::testing
