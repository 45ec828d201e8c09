#pragma once
// A small libcurl HTTP client for the Hub. Redirects are followed by hand so that the bearer token is sent only to
// the endpoint's own origin and never to a CDN or any other host; 429, 5xx and dropped connections are retried
// with exponential backoff.
#include <chrono>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "autotimm/error.hpp"

namespace autotimm::hf {

struct HttpResponse {
  long status = 0;
  std::string url = {};                                           ///< the URL that gave this answer (after redirects)
  std::vector<std::pair<std::string, std::string>> headers = {};  ///< names in lower case
  std::string body = {};                                          ///< empty when the body went to a sink

  /// The first header named `name` (any case), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

/// Receives the body of a 2xx answer chunk by chunk, with the status (200 or 206). Returns false to abort.
using BodySink = std::function<bool(long status, std::string_view chunk)>;

struct HttpRequest {
  std::string method = "GET";  ///< GET or HEAD
  std::string url = {};
  std::vector<std::string> headers = {};  ///< "Name: value"
  long timeout_s = 10;                    ///< connect timeout, and how long the transfer may stall
  BodySink sink = {};
};

/// A connection-level failure (refused, reset, timed out, body cut short): worth retrying.
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
};

/// scheme://host[:port] of `url`, lower-cased; empty when `url` has no scheme.
std::string origin_of(std::string_view url);
/// `location` made absolute against `base` (Location may be absolute, origin-relative or path-relative).
std::string resolve_location(std::string_view base, std::string_view location);
/// Percent-encodes everything but unreserved characters and the characters in `keep`.
std::string url_encode(std::string_view text, std::string_view keep = "");
bool is_retryable_status(long status);
/// How long a `Retry-After` value asks to wait: delay-seconds or an HTTP date (0 when past or unreadable).
std::chrono::milliseconds retry_after_wait(const std::string& value, std::time_t now = std::time(nullptr));

}  // namespace autotimm::hf
