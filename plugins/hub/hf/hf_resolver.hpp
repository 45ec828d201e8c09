#pragma once
// The Hugging Face Hub resolver: resolve() fetches config.json and the weights (model.safetensors, else
// pytorch_model.bin) into the shared cache; search() and model_info() speak /api/models. A revision whose snapshot
// already holds config.json and weights is used without any request (branch updates are picked up once the cache
// lacks a file, or by asking for a commit); this keeps warm starts offline-fast.
#include "autotimm/hub_resolver.hpp"
#include "download.hpp"
#include "http_client.hpp"
#include "hub_options.hpp"

namespace autotimm::hf {

class HfHubResolver final : public HubResolver {
 public:
  explicit HfHubResolver(HubOptions options);
  HfHubResolver(const HfHubResolver&) = delete;  // the downloader holds references into this object
  HfHubResolver& operator=(const HfHubResolver&) = delete;

  std::filesystem::path resolve(const HubModelRef& model) override;
  std::vector<HubModelInfo> search(const HubSearchQuery& query) override;
  HubModelInfo model_info(const HubModelRef& model) override;
  std::vector<HubCachedModel> cached_models() override { return downloader_.cache().list_models(); }
  HubCacheRemoval prune_cache(const HubCachePruneOptions& options) override {
    return downloader_.cache().prune(options);
  }
  HubCacheRemoval remove_cached(const HubModelRef& model, bool dry_run) override {
    return downloader_.cache().remove(model.repo_id, model.revision, dry_run);
  }

  /// A commit through the Hub's commit API: preupload, LFS batch + PUT for the weights, then the ndjson commit
  /// (upload.cpp). Needs a token; HubErrors say what to do on 401, 403 and 404.
  HubUploadResult upload(const HubUploadRequest& request) override;

  /// One file of a repo into the cache (nullopt when the repo has no such file at that revision).
  std::optional<std::filesystem::path> download_file(const HubModelRef& model, const std::string& filename);

  /// The /api/models URL for `query` (first page).
  std::string search_url(const HubSearchQuery& query) const;

 private:
  std::string close_names(const std::string& repo_id);

  HubOptions options_;
  HttpClient client_;
  FileDownloader downloader_;
};

/// Parses one /api/models entry or model-info object; every field optional, unknown ones ignored. FormatError on
/// something that is not a JSON object.
HubModelInfo parse_model_info(const std::string& json_text, const std::string& where);
/// Parses a /api/models page (a JSON array of entries).
std::vector<HubModelInfo> parse_model_list(const std::string& json_text, const std::string& where);
/// The URL of `Link: <URL>; rel="next"`, or empty.
std::string next_page_url(const std::string& link_header);

}  // namespace autotimm::hf
