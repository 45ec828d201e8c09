#pragma once
// A fake MLflow tracking server for tests, a handler over LocalHttpServer: the REST API 2.0 endpoints a client uses
// to track a run (experiments get-by-name / get / create, runs create / get / update / log-batch) and proxied
// artifact upload (PUT /api/2.0/mlflow-artifacts/artifacts/...), with the server's log-batch validation (1000
// metrics, 100 params, 100 tags, 1000 entities, 1 MB body, key rules, 6000-char params, immutable params), its
// error bodies ({"error_code", "message"}) and an optional required Authorization header. The Default experiment
// ("0") exists from the start.
//
//   autotimm::testing::FakeMlflowServer mlflow;
//   setenv("MLFLOW_TRACKING_URI", mlflow.endpoint().c_str(), 1);
//   mlflow.http().inject({.path_part = "runs/log-batch", .times = 2, .status = 503});
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fakes/local_http_server.hpp"

namespace autotimm::testing {

struct FakeMlflowMetric {
  std::string key = {};
  double value = 0.0;
  std::int64_t timestamp = 0;
  std::int64_t step = 0;
};

struct FakeMlflowRun {
  std::string run_id = {};
  std::string experiment_id = {};
  std::string run_name = {};
  std::string status = "RUNNING";
  std::string artifact_uri = {};
  std::int64_t start_time = 0;
  std::int64_t end_time = 0;
  std::vector<FakeMlflowMetric> metrics = {};  ///< in arrival order
  std::map<std::string, std::string> params = {};
  std::map<std::string, std::string> tags = {};
};

struct FakeMlflowExperiment {
  std::string experiment_id = {};
  std::string name = {};
  std::string lifecycle_stage = "active";
  std::string artifact_location = {};
};

struct FakeMlflowArtifact {
  std::string content_type = {};
  std::string bytes = {};
};

class FakeMlflowServer {
 public:
  FakeMlflowServer();
  ~FakeMlflowServer();
  FakeMlflowServer(const FakeMlflowServer&) = delete;
  FakeMlflowServer& operator=(const FakeMlflowServer&) = delete;

  /// "http://127.0.0.1:<port>", what MLFLOW_TRACKING_URI should be.
  std::string endpoint() const { return server_.endpoint(); }
  /// The socket side: recorded requests, injected failures.
  LocalHttpServer& http() { return server_; }

  /// Requests without exactly this Authorization header get 401 (empty: any request is accepted).
  void require_authorization(std::string header);
  /// Runs created from now on get this artifact_uri prefix instead of "mlflow-artifacts:" (e.g. "s3://bucket").
  void set_artifact_root(std::string root);
  std::string add_experiment(const std::string& name, const std::string& lifecycle_stage = "active");

  std::vector<FakeMlflowExperiment> experiments() const;
  std::vector<FakeMlflowRun> runs() const;
  std::optional<FakeMlflowRun> run(const std::string& run_id) const;
  /// Uploaded artifacts by path under the artifact root: "<exp_id>/<run_id>/artifacts/<path>".
  std::map<std::string, FakeMlflowArtifact> artifacts() const;

 private:
  LocalHttpResponse answer(const LocalHttpRequest& request);
  LocalHttpResponse answer_api(const LocalHttpRequest& request, const std::string& endpoint);
  LocalHttpResponse log_batch(const boost::json::value& body);

  mutable std::mutex mutex_;
  std::string authorization_;
  std::string artifact_root_ = "mlflow-artifacts:";
  std::vector<FakeMlflowExperiment> experiments_;
  std::vector<FakeMlflowRun> runs_;
  std::map<std::string, FakeMlflowArtifact> artifacts_;
  int next_experiment_ = 1;
  int next_run_ = 1;
  LocalHttpServer server_;  // last: its threads call answer(), so it starts after and stops before the rest
};

}  // namespace autotimm::testing
