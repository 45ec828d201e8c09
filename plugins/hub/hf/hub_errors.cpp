#include "hub_errors.hpp"

namespace autotimm::hf {

void throw_hub_error(const HttpResponse& response, const std::string& repo_id, const std::string& subject) {
  const std::string code = response.header("x-error-code").value_or("");
  const std::string server_message = response.header("x-error-message").value_or("");
  const std::string status = std::to_string(response.status);
  const std::string where = " (HTTP " + status + " from " + response.url + ")";
  if (code == "GatedRepo" || (response.status == 403 && code.empty())) {
    throw HubError("cannot download " + subject + ": the model '" + repo_id + "' is gated or private" + where +
                   "; accept its terms on the Hub and set HF_TOKEN (or log in so $HF_HOME/token exists)");
  }
  if (response.status == 401 && server_message == "Invalid credentials in Authorization header") {
    throw HubError("cannot download " + subject + ": the Hub refused the token" + where +
                   "; check HF_TOKEN or $HF_HOME/token");
  }
  if (code == "RevisionNotFound") {
    throw NotFoundError("cannot download " + subject + ": the revision does not exist in '" + repo_id + "'" + where +
                        "; use a branch, tag or commit of the repo, e.g. '@main'");
  }
  if (code == "EntryNotFound") {
    throw NotFoundError("cannot download " + subject + ": the file is not in the repo" + where +
                        "; check the file name and revision");
  }
  if (code == "RepoNotFound" || response.status == 401 || response.status == 404) {
    throw RepoNotFoundError("cannot download " + subject + ": no model '" + repo_id + "' on the Hub" + where +
                                "; check the name, or set HF_TOKEN if it is private",
                            repo_id);
  }
  if (response.status == 429 || response.status >= 500) {
    throw HubError("cannot download " + subject + ": the Hub kept failing" + where +
                   " after retries; try again later or check HF_ENDPOINT");
  }
  throw HubError("cannot download " + subject + ": unexpected answer" + where +
                 (server_message.empty() ? "" : ": " + server_message) + "; check HF_ENDPOINT");
}

void throw_download_host_error(const HttpResponse& response, const std::string& subject) {
  const std::string host = origin_of(response.url);
  const std::string where = " (HTTP " + std::to_string(response.status) + " from " + host + ")";
  if (response.status == 401 || response.status == 403) {
    throw HubError("cannot download " + subject + ": the download host refused the file" + where +
                   " although the Hub granted access, so HF_TOKEN is not the cause; the signed link may have "
                   "expired (run again) or a proxy or firewall blocks " + host);
  }
  throw HubError("cannot download " + subject + ": the download host answered" + where +
                 "; run again, and check proxies between here and " + host);
}

}  // namespace autotimm::hf
