#pragma once
// HubResolver: turns a hub model id (`hf-hub:timm/resnet50.a1_in1k@main`) into a local folder that holds the timm
// `config.json` and weights, and searches the hub. Registered under its prefixes ("hf-hub:", "hf_hub:", "timm/").
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "autotimm/export.hpp"

namespace autotimm {

struct HubModelRef {
  std::string repo_id = {};   ///< "timm/resnet50.a1_in1k"
  std::string revision = {};  ///< branch, tag or commit; empty = the hub's default
};

struct HubSearchQuery {
  std::string model_name = {};  ///< substring search
  std::string author = {};
  std::string tag = {};
  std::string library = {};
  std::string sort = "downloads";
  std::int64_t limit = 50;
};

struct HubModelInfo {
  std::string id = {};
  std::int64_t downloads = 0;
  std::int64_t likes = 0;
  std::vector<std::string> tags = {};
  std::string last_modified = {};
  std::string pipeline_tag = {};
  std::vector<std::string> files = {};
};

/// One model in the local cache: what `autotimm hub cache list` shows.
struct HubCachedModel {
  std::string repo_id = {};
  std::filesystem::path folder = {};
  std::uintmax_t size_bytes = 0;                                ///< bytes of the files it stores
  std::vector<std::pair<std::string, std::string>> refs = {};  ///< revision → commit
  std::vector<std::string> snapshots = {};                     ///< commits with a snapshot folder
};

class AUTOTIMM_API HubResolver {
 public:
  virtual ~HubResolver();
  /// A local snapshot folder holding config.json and the weights, downloading what the cache lacks.
  virtual std::filesystem::path resolve(const HubModelRef& model) = 0;
  virtual std::vector<HubModelInfo> search(const HubSearchQuery& query) = 0;
  virtual HubModelInfo model_info(const HubModelRef& model) = 0;
  /// The models in the local cache, by repo id; reads only the cache.
  virtual std::vector<HubCachedModel> cached_models() = 0;
};

}  // namespace autotimm
