// libcurl easy handles, one per exchange: plugin traffic is a handful of requests at a time, so handle reuse is not
// worth the shared state it would bring.
#include "http/http_client.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <thread>

namespace autotimm::http {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

void ensure_curl_initialised() { static const CurlGlobal once; }

struct ExchangeState {
  CURL* handle = nullptr;
  Response* response = nullptr;
  const BodySink* sink = nullptr;
  bool sink_aborted = false;
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* state = static_cast<ExchangeState*>(user);
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    state->response->headers.clear();  // a new status line (e.g. after 100 Continue) starts a new header block
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    state->response->headers.emplace_back(lower(line.substr(0, colon)), std::string(value));
  }
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* state = static_cast<ExchangeState*>(user);
  long status = 0;
  curl_easy_getinfo(state->handle, CURLINFO_RESPONSE_CODE, &status);
  const std::string_view chunk(data, size * count);
  if (state->sink != nullptr && *state->sink && status >= 200 && status < 300) {
    if (!(*state->sink)(status, chunk)) {
      state->sink_aborted = true;
      return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
  } else {
    state->response->body.append(chunk);
  }
  return size * count;
}

}  // namespace

Response Client::exchange_retrying(const Request& request, const RetryPolicy& policy) const {
  for (int attempt = 0;; ++attempt) {
    try {
      Response answer = exchange(request);
      if (!is_retryable_status(answer.status) || attempt >= policy.max_retries) return answer;
      spdlog::debug("{}: {} {} answered {}; retrying ({}/{})", options_.log_name, request.method, request.url,
                    answer.status, attempt + 1, policy.max_retries);
      std::this_thread::sleep_for(backoff_delay(attempt, policy.first_backoff, policy.cap, &answer));
    } catch (const TransportError& error) {
      if (attempt >= policy.max_retries) throw;
      spdlog::debug("{}: {}; retrying ({}/{})", options_.log_name, error.what(), attempt + 1, policy.max_retries);
      std::this_thread::sleep_for(backoff_delay(attempt, policy.first_backoff, policy.cap));
    }
  }
}

std::optional<std::string> Response::header(std::string_view name) const {
  const std::string wanted = lower(name);
  for (const auto& [key, value] : headers) {
    if (key == wanted) return value;
  }
  return std::nullopt;
}

std::string origin_of(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  const auto path_start = url.find_first_of("/?#", scheme_end + 3);
  return lower(url.substr(0, path_start));
}

std::string resolve_location(std::string_view base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return std::string(location);
  if (location.starts_with("/")) return origin_of(base) + std::string(location);
  std::string_view directory = base.substr(0, base.find_first_of("?#"));
  directory = directory.substr(0, directory.rfind('/') + 1);
  return std::string(directory) + std::string(location);
}

std::string url_encode(std::string_view text, std::string_view keep) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~' || keep.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += '%';
      out += kDigits[byte >> 4];
      out += kDigits[byte & 0xF];
    }
  }
  return out;
}

bool is_retryable_status(long status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

std::chrono::milliseconds retry_after_wait(const std::string& value, std::time_t now) {
  // Delay-seconds, or an HTTP date (RFC 9110 §10.2.3) that libcurl's date parser reads in all three formats.
  if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos) {
    return std::chrono::seconds(value.size() > 6 ? 999999 : std::stol(value));
  }
  const std::time_t when = curl_getdate(value.c_str(), nullptr);
  if (when == -1 || when <= now) return std::chrono::milliseconds(0);
  return std::chrono::seconds(when - now);
}

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds first, std::chrono::milliseconds cap,
                                        const Response* response) {
  auto wait = first * (1LL << std::clamp(attempt, 0, 20));
  if (response != nullptr) {
    if (const auto retry_after = response->header("retry-after")) {
      wait = std::max<std::chrono::milliseconds>(wait, retry_after_wait(*retry_after));
    }
  }
  return std::min<std::chrono::milliseconds>(wait, cap);
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                   static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Client::Client(ClientOptions options) : options_(std::move(options)) { ensure_curl_initialised(); }

Response Client::exchange(const Request& request) const {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> handle(curl_easy_init(), &curl_easy_cleanup);
  if (!handle) throw TransportError("cannot start an HTTP request to '" + request.url + "': curl_easy_init failed");
  Response response;
  ExchangeState state{.handle = handle.get(), .response = &response, .sink = &request.sink};

  const bool has_body = request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  curl_slist* raw_headers = nullptr;
  for (const auto& header : request.headers) raw_headers = curl_slist_append(raw_headers, header.c_str());
  // No "Expect: 100-continue" round trip: bodies are small and some servers and proxies answer it badly.
  if (has_body) raw_headers = curl_slist_append(raw_headers, "Expect:");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(raw_headers, &curl_slist_free_all);

  CURL* h = handle.get();
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, request.timeout_s);
  // A stall, not a total: a large transfer may take long but must keep moving.
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, request.timeout_s);
  if (options_.insecure_tls) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!options_.ca_cert_path.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_cert_path.c_str());
  if (!options_.client_cert_path.empty()) curl_easy_setopt(h, CURLOPT_SSLCERT, options_.client_cert_path.c_str());
  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, request.timeout_s);  // metadata only: the whole exchange is short
  } else if (has_body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (request.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else if (request.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &state);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &state);

  spdlog::debug("{}: {} {}", options_.log_name, request.method, request.url);  // credentials travel in headers only
  const CURLcode code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  response.url = request.url;
  if (code != CURLE_OK) {
    if (state.sink_aborted) throw IoError("cannot store the download of '" + request.url + "': writing to disk failed");
    throw TransportError(request.method + " '" + request.url + "' failed: " + curl_easy_strerror(code) + "; " +
                         options_.transport_hint);
  }
  return response;
}

}  // namespace autotimm::http
