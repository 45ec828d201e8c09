#pragma once
// The Hub's HTTP policy over the shared client (plugins/common/http): redirects are followed by hand so that the
// bearer token is sent only to the endpoint's own origin and never to a CDN or any other host; 429, 5xx and dropped
// connections are retried with exponential backoff.
#include <chrono>
#include <string>

#include "autotimm/error.hpp"
#include "http/http_client.hpp"

namespace autotimm::hf {

using HttpResponse = http::Response;
using BodySink = http::BodySink;
using HttpRequest = http::Request;
using http::is_retryable_status;
using http::origin_of;
using http::resolve_location;
using http::retry_after_wait;
using http::url_encode;

/// A connection-level failure (refused, reset, timed out, body cut short): worth retrying. A HubError, so that
/// callers of the resolver see one error family.
class HttpTransportError : public HubError {
 public:
  using HubError::HubError;
};

struct HttpClientOptions {
  std::string token = {};         ///< sent as `Authorization: Bearer` to token_origin only
  std::string token_origin = {};  ///< scheme://host[:port] of the endpoint
  std::string user_agent = "autotimm/0.1; hf_hub/compatible";
  int max_retries = 5;
  std::chrono::milliseconds first_backoff{1000};
  int max_redirects = 10;
  /// A custom HF_ENDPOINT: URLs in answers that point at https://huggingface.co are rewritten to it, as
  /// huggingface_hub does for mirrors. Empty or the default endpoint: no rewriting.
  std::string endpoint = {};
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);

  /// One exchange, no redirects followed, no retries. Throws HttpTransportError when no answer came.
  HttpResponse exchange(const HttpRequest& request) const;

  /// Follows redirects (relative and absolute, or relative only with `absolute_redirects = false`) and retries
  /// 429/5xx/transport failures up to `retries` times. The answer is the last one received.
  HttpResponse fetch(HttpRequest request, int retries, bool absolute_redirects = true) const;

  /// Waits before retry number `attempt` (0-based): first_backoff * 2^attempt, at most 8 s, or Retry-After.
  void back_off(int attempt, const HttpResponse* response) const;

  /// `url` with a leading https://huggingface.co replaced by the custom endpoint (see HttpClientOptions::endpoint).
  std::string to_endpoint(std::string url) const;

  const HttpClientOptions& options() const noexcept { return options_; }

 private:
  HttpClientOptions options_;
  http::Client client_;
};

}  // namespace autotimm::hf
