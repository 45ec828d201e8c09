#pragma once
// The generic part of HTTP for plugins: one libcurl exchange (any method, optional body, streamed or buffered
// answer), URL helpers and the backoff rule for 408/429/5xx. Policy (which origin gets credentials, redirects,
// how often to retry) belongs to the plugin that calls it.
//
//   autotimm::http::Client client({.user_agent = "autotimm-mlflow/0.1"});
//   auto answer = client.exchange({.method = "POST", .url = url, .headers = {"Content-Type: application/json"},
//                                  .body = R"({"name":"exp"})"});
#include <chrono>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "autotimm/error.hpp"

namespace autotimm::http {

struct Response {
  long status = 0;
  std::string url = {};                                           ///< the URL that gave this answer
  std::vector<std::pair<std::string, std::string>> headers = {};  ///< names in lower case
  std::string body = {};                                          ///< empty when the body went to a sink

  /// The first header named `name` (any case), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

/// Receives the body of a 2xx answer chunk by chunk, with the status. Returns false to abort.
using BodySink = std::function<bool(long status, std::string_view chunk)>;

struct Request {
  std::string method = "GET";             ///< GET, HEAD, POST, PUT, PATCH or DELETE
  std::string url = {};
  std::vector<std::string> headers = {};  ///< "Name: value"
  std::string body = {};                  ///< sent as is for POST/PUT/PATCH (also when empty)
  long timeout_s = 10;                    ///< connect timeout, and how long the transfer may stall
  BodySink sink = {};
};

/// A connection-level failure (refused, reset, timed out, body cut short): worth retrying.
class TransportError : public Error {
 public:
  using Error::Error;
};

struct ClientOptions {
  std::string user_agent = "autotimm/0.1";
  std::string log_name = "http";                  ///< prefix of debug log lines ("hf hub", "mlflow")
  std::string transport_hint = "check the network";  ///< appended to TransportError messages
  bool insecure_tls = false;                      ///< skip certificate checks (a self-signed test server)
  std::string ca_cert_path = {};                  ///< a CA bundle to trust instead of the system's
  std::string client_cert_path = {};              ///< a client certificate (PEM) for mutual TLS
};

/// Quick retries of one request: a transport failure or a retryable status (408, 429, 5xx) waits
/// first_backoff * 2^attempt (or the answer's Retry-After, at most `cap`) and tries again, `max_retries` times.
struct RetryPolicy {
  int max_retries = 2;
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds cap{30000};
};

class Client {
 public:
  explicit Client(ClientOptions options = {});

  /// One exchange, no redirects followed, no retries. Throws TransportError when no answer came, IoError when the
  /// sink refused a chunk.
  Response exchange(const Request& request) const;
  /// exchange() retried per `policy`. Returns the first answer that is not retryable, or the last one when the
  /// retries ran out; throws the last TransportError when the final attempt got no answer.
  Response exchange_retrying(const Request& request, const RetryPolicy& policy) const;

  const ClientOptions& options() const noexcept { return options_; }

 private:
  ClientOptions options_;
};

/// scheme://host[:port] of `url`, lower-cased; empty when `url` has no scheme.
std::string origin_of(std::string_view url);
/// `location` made absolute against `base` (Location may be absolute, origin-relative or path-relative).
std::string resolve_location(std::string_view base, std::string_view location);
/// Percent-encodes everything but unreserved characters and the characters in `keep`.
std::string url_encode(std::string_view text, std::string_view keep = "");
/// 408, 429 and 5xx: the server may answer differently later.
bool is_retryable_status(long status);
/// How long a `Retry-After` value asks to wait: delay-seconds or an HTTP date (0 when past or unreadable).
std::chrono::milliseconds retry_after_wait(const std::string& value, std::time_t now = std::time(nullptr));
/// The wait before retry number `attempt` (0-based): first * 2^attempt, or longer when the answer's Retry-After
/// asks for it, never more than `cap`.
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds first, std::chrono::milliseconds cap,
                                        const Response* response = nullptr);
/// RFC 4648 base64 with padding (HTTP Basic credentials).
std::string base64_encode(std::string_view bytes);

}  // namespace autotimm::http
