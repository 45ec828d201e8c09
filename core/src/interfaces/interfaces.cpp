// Key functions of the SDK interfaces: defining the destructors here emits each interface's vtable and typeinfo
// once, in libautotimm, so dynamic_cast and catch work across plugin libraries.
#include "autotimm/backbone.hpp"
#include "autotimm/callback.hpp"
#include "autotimm/error.hpp"
#include "autotimm/head.hpp"
#include "autotimm/hub_resolver.hpp"
#include "autotimm/logger.hpp"
#include "autotimm/loss.hpp"

namespace autotimm {

Backbone::~Backbone() = default;
Head::~Head() = default;
Loss::~Loss() = default;
Logger::~Logger() = default;
Callback::~Callback() = default;
TrainerHandle::~TrainerHandle() = default;
HubResolver::~HubResolver() = default;

HubCacheRemoval HubResolver::prune_cache(const HubCachePruneOptions&) {
  throw HubError("this hub resolver keeps no local cache that can be pruned");
}

HubCacheRemoval HubResolver::remove_cached(const HubModelRef& model, bool) {
  throw HubError("cannot remove '" + model.repo_id + "': this hub resolver keeps no local cache");
}

HubUploadResult HubResolver::upload(const HubUploadRequest& request) {
  throw HubError("cannot upload to '" + request.repo_id + "': this hub resolver cannot upload; use the hf hub plugin");
}

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::success: return "success";
    case RunStatus::failed: return "failed";
    case RunStatus::killed: return "killed";
  }
  return "unknown";
}

}  // namespace autotimm
