#pragma once
// The W&B client protocol over HTTP: GraphQL (Viewer for the default entity, UpsertBucket to create or update a run,
// CreateRunFiles for upload URLs) and the run's file_stream (history lines at running offsets, the summary, the
// uploaded files, completion with the exit code). Request bodies are built by free functions so tests and the
// offline spool see exactly what goes on the wire.
//
//   WandbApi api({.base_url = "https://api.wandb.ai", .authorization = "Basic ..."});
//   const auto run = api.upsert_run(attributes, "");
//   api.file_stream(run.entity, run.project, run.run_id, file_stream_body({.history_offset = 0, .history = lines}));
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "autotimm/error.hpp"
#include "http/http_client.hpp"

namespace autotimm::wandb {

/// The server is away or busy (transport failure, 408/429/5xx after the quick retries): try again later.
class Unavailable : public Error {
 public:
  using Error::Error;
};

/// The server refused the request for good (4xx, GraphQL errors): retrying the same request cannot help.
class Rejected : public Error {
 public:
  using Error::Error;
};

/// A run as UpsertBucket takes it.
struct RunAttributes {
  std::string entity = {};
  std::string project = {};
  std::string run_id = {};        ///< the run's name in the API: 8+ chars of [a-z0-9_-]
  std::string display_name = {};  ///< empty: the server picks one
  std::string notes = {};
  std::string group = {};
  std::string job_type = {};
  std::string host = {};
  std::vector<std::string> tags = {};
  boost::json::object config = {};  ///< user keys → values, sent as {"key": {"value": v}}
};

/// What UpsertBucket answered.
struct RunRecord {
  std::string storage_id = {};  ///< bucket.id, sent back on updates
  std::string entity = {};
  std::string project = {};
  std::string run_id = {};
  std::string display_name = {};
  std::int64_t history_line_count = 0;  ///< > 0 when an existing run was resumed
  bool inserted = false;
};

/// One file_stream request.
struct StreamChunk {
  std::int64_t history_offset = 0;          ///< line number of history.front() in the run's history
  std::vector<std::string> history = {};    ///< JSON objects, one per line
  std::optional<std::string> summary = {};  ///< the whole latest-values object
  std::vector<std::string> uploaded = {};   ///< names of files uploaded since the last request
  std::optional<int> exitcode = {};         ///< set on the last request: "complete": true
};

std::string viewer_body();
std::string upsert_bucket_body(const RunAttributes& run, const std::string& storage_id);
std::string create_run_files_body(const std::string& entity, const std::string& project, const std::string& run_id,
                                  const std::vector<std::string>& files);
/// `{}` for an empty chunk: a heartbeat.
std::string file_stream_body(const StreamChunk& chunk);

struct ApiOptions {
  std::string base_url = {};       ///< without a trailing '/'
  std::string authorization = {};  ///< "Basic ..."
  int timeout_s = 60;
  http::RetryPolicy retry = {};
};

class WandbApi {
 public:
  explicit WandbApi(ApiOptions options);

  /// The API key's default entity (Viewer.entity).
  std::string default_entity();
  RunRecord upsert_run(const RunAttributes& run, const std::string& storage_id);
  /// PUTs each (name under the run's files, bytes) to the URL CreateRunFiles hands out.
  void upload_files(const std::string& entity, const std::string& project, const std::string& run_id,
                    const std::vector<std::pair<std::string, std::string>>& files);
  /// Returns true when the server says the run was stopped from the UI.
  bool file_stream(const std::string& entity, const std::string& project, const std::string& run_id,
                   const std::string& body);

  const std::string& base_url() const noexcept { return options_.base_url; }

 private:
  /// The answer's `data` (a value, so pointers into it stay valid while it lives).
  boost::json::value graphql(const std::string& body, const std::string& operation);
  http::Response send(http::Request request, const std::string& what);

  ApiOptions options_;
  http::Client client_;
};

}  // namespace autotimm::wandb
