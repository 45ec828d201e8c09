// libcurl easy handles, one per exchange: the client is used from one thread at a time per resolver, and Hub
// traffic is a handful of requests, so handle reuse is not worth the shared state.
#include "http_client.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <thread>

namespace autotimm::hf {

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
  HttpResponse* response = nullptr;
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

std::optional<std::string> HttpResponse::header(std::string_view name) const {
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

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) { ensure_curl_initialised(); }

HttpResponse HttpClient::exchange(const HttpRequest& request) const {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> handle(curl_easy_init(), &curl_easy_cleanup);
  if (!handle) throw HttpTransportError("cannot start an HTTP request to '" + request.url + "': curl_easy_init failed");
  HttpResponse response;
  ExchangeState state{.handle = handle.get(), .response = &response, .sink = &request.sink};

  curl_slist* raw_headers = nullptr;
  for (const auto& header : request.headers) raw_headers = curl_slist_append(raw_headers, header.c_str());
  // The token goes to the endpoint's origin only: never to a CDN or a host a redirect named.
  if (!options_.token.empty() && origin_of(request.url) == options_.token_origin) {
    raw_headers = curl_slist_append(raw_headers, ("Authorization: Bearer " + options_.token).c_str());
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(raw_headers, &curl_slist_free_all);

  CURL* h = handle.get();
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, request.timeout_s);
  // A stall, not a total: a multi-gigabyte download may take long but must keep moving.
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, request.timeout_s);
  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, request.timeout_s);  // metadata only: the whole exchange is short
  }
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &state);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &state);

  spdlog::debug("hf hub: {} {}", request.method, request.url);  // URLs carry no secrets; the token is a header
  const CURLcode code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  response.url = request.url;
  if (code != CURLE_OK) {
    if (state.sink_aborted) throw IoError("cannot store the download of '" + request.url + "': writing to disk failed");
    throw HttpTransportError(std::string(request.method) + " '" + request.url +
                             "' failed: " + curl_easy_strerror(code) + "; check the network or HF_ENDPOINT");
  }
  return response;
}

std::string HttpClient::to_endpoint(std::string url) const {
  static constexpr std::string_view kDefaultEndpoint = "https://huggingface.co";
  const bool custom = !options_.endpoint.empty() && options_.endpoint != kDefaultEndpoint;
  if (custom && url.starts_with(kDefaultEndpoint) &&
      (url.size() == kDefaultEndpoint.size() || url[kDefaultEndpoint.size()] == '/')) {
    url.replace(0, kDefaultEndpoint.size(), options_.endpoint);
  }
  return url;
}

std::chrono::milliseconds retry_after_wait(const std::string& value, std::time_t now) {
  // Delay-seconds, or an HTTP date (RFC 9110 §10.2.3) that libcurl's date parser reads in all three formats.
  if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos) {
    return std::chrono::seconds(value.size() > 6 ? 999999 : std::stol(value));
  }
  const std::time_t when = curl_getdate(value.c_str(), nullptr);
  if (when == -1 || when <= now) return std::chrono::milliseconds(0);
  return std::chrono::seconds(when - now);
}

void HttpClient::back_off(int attempt, const HttpResponse* response) const {
  auto wait = options_.first_backoff * (1LL << std::min(attempt, 10));
  if (response != nullptr) {
    if (const auto retry_after = response->header("retry-after")) {
      wait = std::max<std::chrono::milliseconds>(wait, retry_after_wait(*retry_after));
    }
  }
  std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(wait, std::chrono::seconds(8)));
}

HttpResponse HttpClient::fetch(HttpRequest request, int retries, bool absolute_redirects) const {
  for (int attempt = 0;; ++attempt) {
    HttpRequest hop = request;
    try {
      HttpResponse response;
      for (int redirects = 0;; ++redirects) {
        response = exchange(hop);
        const auto location = response.header("location");
        if (response.status < 300 || response.status >= 400 || !location) break;
        const bool absolute = location->find("://") != std::string::npos;
        if (absolute && !absolute_redirects) break;
        if (redirects >= options_.max_redirects) {
          throw HubError("too many redirects from '" + request.url + "'; check HF_ENDPOINT");
        }
        hop.url = to_endpoint(resolve_location(hop.url, *location));
      }
      if (!is_retryable_status(response.status) || attempt >= retries) return response;
      spdlog::warn("hf hub: {} {} answered {}; retrying ({}/{})", hop.method, hop.url, response.status, attempt + 1,
                   retries);
      back_off(attempt, &response);
    } catch (const HttpTransportError& error) {
      if (attempt >= retries) throw;
      spdlog::warn("hf hub: {}; retrying ({}/{})", error.what(), attempt + 1, retries);
      back_off(attempt, nullptr);
    }
  }
}

}  // namespace autotimm::hf
