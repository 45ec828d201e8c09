// The Hub's policy over the shared HTTP client: credentials for the endpoint's origin only, mirror rewriting,
// redirects and retries.
#include "http_client.hpp"

#include <spdlog/spdlog.h>

#include <thread>

namespace autotimm::hf {

HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)),
      client_({.user_agent = options_.user_agent,
               .log_name = "hf hub",
               .transport_hint = "check the network or HF_ENDPOINT"}) {}

HttpResponse HttpClient::exchange(const HttpRequest& request) const {
  HttpRequest sent = request;
  // The token goes to the endpoint's origin only: never to a CDN or a host a redirect named.
  if (!options_.token.empty() && origin_of(request.url) == options_.token_origin) {
    sent.headers.push_back("Authorization: Bearer " + options_.token);
  }
  try {
    return client_.exchange(sent);
  } catch (const http::TransportError& error) {
    throw HttpTransportError(error.what());
  }
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

void HttpClient::back_off(int attempt, const HttpResponse* response) const {
  std::this_thread::sleep_for(http::backoff_delay(attempt, options_.first_backoff, std::chrono::seconds(8), response));
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
