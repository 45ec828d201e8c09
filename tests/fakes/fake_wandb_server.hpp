#pragma once
// A fake Weights & Biases server for tests, a handler over LocalHttpServer: the GraphQL operations a client uses
// (Viewer, UpsertBucket, CreateRunFiles), upload URLs it serves itself, and the run's file_stream with the server's
// rules: Basic auth with api:<key> on the API, config as a JSON string of {"key": {"value": v}}, history lines placed
// by offset without gaps (a repeated offset overwrites), summary at offset 0, completion with an exit code.
//
//   autotimm::testing::FakeWandbServer wandb("test-api-key", "alice");
//   setenv("WANDB_BASE_URL", wandb.endpoint().c_str(), 1);
//   wandb.http().inject({.path_part = "/file_stream", .times = 2, .status = 503});
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "fakes/local_http_server.hpp"

namespace autotimm::testing {

struct FakeWandbRun {
  std::string storage_id = {};
  std::string entity = {};
  std::string project = {};
  std::string name = {};  ///< the run id
  std::string display_name = {};
  std::string notes = {};
  std::string group = {};
  std::string job_type = {};
  std::string host = {};
  std::vector<std::string> tags = {};
  boost::json::object config = {};        ///< key → value (unwrapped from {"value": v})
  std::vector<std::string> history = {};  ///< lines by line number, as sent
  std::string summary = {};
  std::vector<std::string> uploaded = {};  ///< names listed in file_stream requests
  bool complete = false;
  std::optional<int> exitcode = {};
  int upserts = 0;
  int heartbeats = 0;  ///< file_stream requests with an empty body {}
};

class FakeWandbServer {
 public:
  FakeWandbServer(std::string api_key = "test-api-key", std::string default_entity = "alice");
  ~FakeWandbServer();
  FakeWandbServer(const FakeWandbServer&) = delete;
  FakeWandbServer& operator=(const FakeWandbServer&) = delete;

  /// "http://127.0.0.1:<port>", what WANDB_BASE_URL should be.
  std::string endpoint() const { return server_.endpoint(); }
  LocalHttpServer& http() { return server_; }

  std::vector<FakeWandbRun> runs() const;
  std::optional<FakeWandbRun> run(const std::string& name) const;
  /// Uploaded files by name under the run: "<entity>/<project>/<run>/<name>" → bytes.
  std::map<std::string, std::string> uploads() const;
  /// The next file_stream answers for run `name` say {"stopped": true}.
  void stop_run(const std::string& name);
  /// Adds a run with `lines` history lines, as if an earlier process had logged them.
  void add_run(const std::string& entity, const std::string& project, const std::string& name, int lines);

 private:
  LocalHttpResponse answer(const LocalHttpRequest& request);
  LocalHttpResponse graphql(const boost::json::object& body);
  LocalHttpResponse upsert(const boost::json::object& variables);
  LocalHttpResponse create_run_files(const boost::json::object& variables);
  LocalHttpResponse file_stream(const std::string& entity, const std::string& project, const std::string& name,
                                const std::string& body);

  std::string api_key_;
  std::string default_entity_;
  mutable std::mutex mutex_;
  std::vector<FakeWandbRun> runs_;
  std::map<std::string, std::string> uploads_;
  std::vector<std::string> stopped_;
  int next_storage_id_ = 1;
  LocalHttpServer server_;  // last: its threads call answer(), so it starts after and stops before the rest
};

/// Parses a history line as the W&B backend does: JSON plus the bare tokens NaN, Infinity and -Infinity (read as
/// the strings "NaN", "Infinity", "-Infinity"). Throws std::invalid_argument on anything else.
boost::json::value parse_wandb_line(const std::string& line);

}  // namespace autotimm::testing
