#pragma once
// Turns a Hub error answer into an AutoTimm error that names the model and says what to do. The Hub's
// X-Error-Code header decides first, then the status (docs/hub.md §3).
#include <string>

#include "autotimm/error.hpp"
#include "http_client.hpp"

namespace autotimm::hf {

/// The repo does not exist (or is private without a token): the resolver adds close names from a search.
class RepoNotFoundError : public NotFoundError {
 public:
  RepoNotFoundError(const std::string& message, std::string repo_id)
      : NotFoundError(message), repo_id_(std::move(repo_id)) {}
  const std::string& repo_id() const noexcept { return repo_id_; }

 private:
  std::string repo_id_;
};

/// Throws the error `response` stands for; `subject` says what was asked ("'config.json' of timm/x@main").
[[noreturn]] void throw_hub_error(const HttpResponse& response, const std::string& repo_id, const std::string& subject);

/// Throws for an error answer from the download host the Hub redirected to (a CDN, another origin than the
/// endpoint): the Hub already granted access there, so a 401/403 is an expired link or a blocking proxy, not a
/// token problem.
[[noreturn]] void throw_download_host_error(const HttpResponse& response, const std::string& subject);

}  // namespace autotimm::hf
