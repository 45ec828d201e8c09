#include "hf_resolver.hpp"

#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "hub_errors.hpp"

namespace autotimm::hf {

namespace {

constexpr std::string_view kDefaultRevision = "main";

HttpClientOptions client_options(const HubOptions& options) {
  return HttpClientOptions{.token = options.token,
                           .token_origin = origin_of(options.endpoint),
                           .max_retries = options.max_retries,
                           .first_backoff = options.first_backoff,
                           .endpoint = options.endpoint};
}

std::string revision_of(const HubModelRef& model) {
  return model.revision.empty() ? std::string(kDefaultRevision) : model.revision;
}

}  // namespace

HfHubResolver::HfHubResolver(HubOptions options)
    : options_(std::move(options)), client_(client_options(options_)), downloader_(options_, client_) {}

std::optional<std::filesystem::path> HfHubResolver::download_file(const HubModelRef& model,
                                                                  const std::string& filename) {
  return downloader_.fetch({.repo_id = model.repo_id, .revision = revision_of(model), .filename = filename});
}

std::filesystem::path HfHubResolver::resolve(const HubModelRef& model) {
  const std::string revision = revision_of(model);
  const std::string name = model.repo_id + "@" + revision;
  check_repo_id(model.repo_id);  // before the cache is consulted: both become paths
  check_revision(revision);
  // Warm cache: a revision whose snapshot already holds config.json and weights needs no request at all.
  const auto& cache = downloader_.cache();
  if (const auto config = cache.cached_file(model.repo_id, revision, "config.json")) {
    for (const char* weights : {"model.safetensors", "pytorch_model.bin"}) {
      if (cache.cached_file(model.repo_id, revision, weights)) return config->parent_path();
    }
  }
  try {
    const auto config = download_file(model, "config.json");
    if (!config) {
      throw NotFoundError("cannot use hub model '" + name +
                          "': it has no config.json, so it is not a timm model; "
                          "pick a repo tagged 'timm' (e.g. hf-hub:timm/resnet50.a1_in1k)");
    }
    std::optional<std::filesystem::path> weights = download_file(model, "model.safetensors");
    if (!weights) weights = download_file(model, "pytorch_model.bin");
    if (!weights) {
      throw NotFoundError("cannot use hub model '" + name +
                          "': it has neither model.safetensors nor pytorch_model.bin; pick another revision or repo");
    }
    return config->parent_path();
  } catch (const RepoNotFoundError& error) {
    throw NotFoundError(std::string(error.what()) + close_names(model.repo_id));
  }
}

std::string HfHubResolver::close_names(const std::string& repo_id) {
  if (options_.offline) return {};
  try {
    const std::string name = repo_id.substr(repo_id.find('/') + 1);
    // The search matches substrings: try the name, then its architecture part (before the first '.').
    for (const std::string& term : {name, name.substr(0, name.find('.'))}) {
      const auto found = search({.model_name = term, .limit = 5});
      if (found.empty()) continue;
      std::string names;
      for (const auto& info : found) names += (names.empty() ? "" : ", ") + info.id;
      return "; close names on the Hub: " + names;
    }
  } catch (const Error& error) {
    spdlog::debug("hf hub: no suggestions for '{}': {}", repo_id, error.what());
  }
  return {};
}

std::string HfHubResolver::search_url(const HubSearchQuery& query) const {
  std::string url = options_.endpoint + "/api/models?";
  auto add = [&](std::string_view key, const std::string& value) {
    if (!value.empty()) url += std::string(key) + "=" + url_encode(value) + "&";
  };
  add("search", query.model_name);
  add("author", query.author);
  add("filter", query.tag);
  add("filter", query.library);  // the Hub takes libraries as tag filters (docs/hub.md §2.1)
  // The wire spelling is camelCase; accept the Python-side snake_case too.
  std::string sort = query.sort;
  if (sort == "last_modified") sort = "lastModified";
  if (sort == "created_at") sort = "createdAt";
  if (sort == "trending_score") sort = "trendingScore";
  add("sort", sort);
  if (query.limit > 0) add("limit", std::to_string(query.limit));
  url.pop_back();  // the trailing '&' or '?'
  return url;
}

std::vector<HubModelInfo> HfHubResolver::search(const HubSearchQuery& query) {
  if (options_.offline) {
    throw HubError("cannot search the Hub in offline mode (HF_HUB_OFFLINE or the hub option 'offline'); turn it off to search");
  }
  std::vector<HubModelInfo> models;
  std::string url = search_url(query);
  while (!url.empty()) {
    const HttpResponse page =
        client_.fetch({.method = "GET", .url = url, .timeout_s = options_.download_timeout_s}, options_.max_retries);
    if (page.status != 200)
      throw_hub_error(page, query.author.empty() ? query.model_name : query.author, "a model search");
    for (auto& model : parse_model_list(page.body, url)) {
      models.push_back(std::move(model));
      if (query.limit > 0 && static_cast<std::int64_t>(models.size()) >= query.limit) return models;
    }
    // The next page's URL is used verbatim: it already carries every parameter.
    const std::string next = next_page_url(page.header("link").value_or(""));
    url = next.empty() ? next : client_.to_endpoint(resolve_location(url, next));
  }
  return models;
}

HubModelInfo HfHubResolver::model_info(const HubModelRef& model) {
  check_repo_id(model.repo_id);
  if (options_.offline) {
    throw HubError("cannot read the Hub's info on '" + model.repo_id + "' in offline mode (HF_HUB_OFFLINE or the hub option 'offline'); turn it off");
  }
  std::string url = options_.endpoint + "/api/models/" + model.repo_id;
  if (!model.revision.empty()) url += "/revision/" + url_encode(model.revision);
  const HttpResponse answer =
      client_.fetch({.method = "GET", .url = url, .timeout_s = options_.download_timeout_s}, options_.max_retries);
  if (answer.status != 200) {
    try {
      throw_hub_error(answer, model.repo_id, "the info on '" + model.repo_id + "'");
    } catch (const RepoNotFoundError& error) {
      throw NotFoundError(std::string(error.what()) + close_names(model.repo_id));
    }
  }
  return parse_model_info(answer.body, url);
}

}  // namespace autotimm::hf
