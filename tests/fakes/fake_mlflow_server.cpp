// The fake MLflow server: state in memory, validation as the real server does it, answers shaped like its answers.
#include "fakes/fake_mlflow_server.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <regex>
#include <set>

namespace autotimm::testing {

namespace json = boost::json;

namespace {

LocalHttpResponse error(int status, const std::string& code, const std::string& message) {
  return LocalHttpResponse::json(status, json::object{{"error_code", code}, {"message", message}});
}

LocalHttpResponse invalid(const std::string& message) { return error(400, "INVALID_PARAMETER_VALUE", message); }

std::string string_of(const json::object& object, const char* key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

std::int64_t int_of(const json::object& object, const char* key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) return 0;
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64()) return static_cast<std::int64_t>(value->as_uint64());
  if (value->is_double()) return static_cast<std::int64_t>(value->as_double());
  return 0;
}

/// MLflow's name rule: ^[/\w.\- :]*$ and a normalised relative path.
std::string key_problem(const std::string& key) {
  static const std::regex kValid(R"(^[/\w.\- :]*$)");
  if (key.empty()) return "is empty";
  if (key.size() > 250) return "is longer than 250 characters";
  if (!std::regex_match(key, kValid)) return "contains characters outside [/\\w.\\- :]";
  if (key.front() == '/' || key.find("//") != std::string::npos || key.back() == '/') return "is not a normalised path";
  std::size_t start = 0;
  while (start <= key.size()) {
    const auto end = std::min(key.find('/', start), key.size());
    const std::string part = key.substr(start, end - start);
    if (part == "." || part == "..") return "is not a normalised path";
    start = end + 1;
  }
  return {};
}

json::object experiment_json(const FakeMlflowExperiment& e) {
  return {{"experiment_id", e.experiment_id},
          {"name", e.name},
          {"artifact_location", e.artifact_location},
          {"lifecycle_stage", e.lifecycle_stage},
          {"last_update_time", 1700000000000},
          {"creation_time", 1700000000000},
          {"tags", json::array()}};
}

json::object run_info_json(const FakeMlflowRun& r) {
  json::object info{{"run_id", r.run_id},
                    {"run_uuid", r.run_id},
                    {"experiment_id", r.experiment_id},
                    {"run_name", r.run_name},
                    {"status", r.status},
                    {"start_time", r.start_time},
                    {"artifact_uri", r.artifact_uri},
                    {"lifecycle_stage", "active"}};
  if (r.end_time != 0) info["end_time"] = r.end_time;
  return info;
}

}  // namespace

FakeMlflowServer::FakeMlflowServer()
    : experiments_{{.experiment_id = "0", .name = "Default", .artifact_location = "mlflow-artifacts:/0"}},
      server_([this](const LocalHttpRequest& request) { return answer(request); }) {}

FakeMlflowServer::~FakeMlflowServer() = default;

void FakeMlflowServer::require_authorization(std::string header) {
  std::lock_guard lock(mutex_);
  authorization_ = std::move(header);
}

void FakeMlflowServer::set_artifact_root(std::string root) {
  std::lock_guard lock(mutex_);
  artifact_root_ = std::move(root);
}

std::string FakeMlflowServer::add_experiment(const std::string& name, const std::string& lifecycle_stage) {
  std::lock_guard lock(mutex_);
  const std::string id = std::to_string(next_experiment_++);
  experiments_.push_back({.experiment_id = id, .name = name, .lifecycle_stage = lifecycle_stage,
                          .artifact_location = artifact_root_ + "/" + id});
  return id;
}

std::vector<FakeMlflowExperiment> FakeMlflowServer::experiments() const {
  std::lock_guard lock(mutex_);
  return experiments_;
}

std::vector<FakeMlflowRun> FakeMlflowServer::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

std::optional<FakeMlflowRun> FakeMlflowServer::run(const std::string& run_id) const {
  std::lock_guard lock(mutex_);
  for (const auto& r : runs_) {
    if (r.run_id == run_id) return r;
  }
  return std::nullopt;
}

std::map<std::string, FakeMlflowArtifact> FakeMlflowServer::artifacts() const {
  std::lock_guard lock(mutex_);
  return artifacts_;
}

LocalHttpResponse FakeMlflowServer::answer(const LocalHttpRequest& request) {
  std::lock_guard lock(mutex_);
  if (!authorization_.empty() && request.authorization != authorization_) {
    return error(401, "UNAUTHENTICATED", "You are not authenticated. Please provide valid credentials.");
  }
  static const std::string kApi = "/api/2.0/mlflow/";
  static const std::string kArtifacts = "/api/2.0/mlflow-artifacts/artifacts/";
  if (request.path.starts_with(kArtifacts) && request.method == "PUT") {
    artifacts_[request.path.substr(kArtifacts.size())] = {.content_type = request.header("content-type"),
                                                          .bytes = request.body};
    return LocalHttpResponse::json(200, json::object{});
  }
  if (request.path.starts_with(kApi)) return answer_api(request, request.path.substr(kApi.size()));
  return error(404, "ENDPOINT_NOT_FOUND", "No such endpoint: " + request.path);
}

LocalHttpResponse FakeMlflowServer::answer_api(const LocalHttpRequest& request, const std::string& endpoint) {
  std::multimap<std::string, std::string> query = parse_query(request.query);
  auto query_value = [&](const std::string& key) {
    const auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  };
  const bool get = request.method == "GET";
  json::value body;
  if (!get) {
    if (request.header("content-type") != "application/json") return error(400, "BAD_REQUEST", "expected JSON");
    boost::system::error_code ec;
    body = json::parse(request.body, ec);
    if (ec || !body.is_object()) return error(400, "BAD_REQUEST", "malformed JSON body");
  }
  const json::object empty;
  const json::object& in = body.is_object() ? body.as_object() : empty;

  if (get && endpoint == "experiments/get-by-name") {
    const std::string name = query_value("experiment_name");
    for (const auto& e : experiments_) {
      if (e.name == name) return LocalHttpResponse::json(200, json::object{{"experiment", experiment_json(e)}});
    }
    return error(404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name '" + name + "'");
  }
  if (get && endpoint == "experiments/get") {
    for (const auto& e : experiments_) {
      if (e.experiment_id == query_value("experiment_id")) {
        return LocalHttpResponse::json(200, json::object{{"experiment", experiment_json(e)}});
      }
    }
    return error(404, "RESOURCE_DOES_NOT_EXIST", "No experiment " + query_value("experiment_id"));
  }
  if (!get && endpoint == "experiments/create") {
    const std::string name = string_of(in, "name");
    if (name.empty()) return invalid("Missing value for required parameter 'name'");
    for (const auto& e : experiments_) {
      if (e.name == name) return error(400, "RESOURCE_ALREADY_EXISTS", "Experiment '" + name + "' already exists.");
    }
    const std::string id = std::to_string(next_experiment_++);
    const std::string location = string_of(in, "artifact_location");
    experiments_.push_back({.experiment_id = id, .name = name,
                            .artifact_location = location.empty() ? artifact_root_ + "/" + id : location});
    return LocalHttpResponse::json(200, json::object{{"experiment_id", id}});
  }
  if (!get && endpoint == "runs/create") {
    const std::string experiment_id = string_of(in, "experiment_id");
    bool known = false;
    for (const auto& e : experiments_) known = known || e.experiment_id == experiment_id;
    if (!known) return error(404, "RESOURCE_DOES_NOT_EXIST", "No experiment " + experiment_id);
    char id[33];
    std::snprintf(id, sizeof id, "%032x", next_run_++);
    FakeMlflowRun run{.run_id = id, .experiment_id = experiment_id, .run_name = string_of(in, "run_name"),
                      .artifact_uri = artifact_root_ + "/" + experiment_id + "/" + id + "/artifacts",
                      .start_time = int_of(in, "start_time")};
    if (const auto* tags = in.if_contains("tags"); tags != nullptr && tags->is_array()) {
      for (const auto& tag : tags->as_array()) {
        run.tags[string_of(tag.as_object(), "key")] = string_of(tag.as_object(), "value");
      }
    }
    if (run.run_name.empty() && run.tags.contains("mlflow.runName")) run.run_name = run.tags["mlflow.runName"];
    if (run.run_name.empty()) run.run_name = "serene-fox-" + std::to_string(next_run_);
    run.tags["mlflow.runName"] = run.run_name;
    runs_.push_back(run);
    return LocalHttpResponse::json(200, json::object{{"run", json::object{{"info", run_info_json(run)},
                                                                           {"data", json::object{}}}}});
  }
  if (get && endpoint == "runs/get") {
    for (const auto& r : runs_) {
      if (r.run_id == query_value("run_id")) {
        return LocalHttpResponse::json(200, json::object{{"run", json::object{{"info", run_info_json(r)}}}});
      }
    }
    return error(404, "RESOURCE_DOES_NOT_EXIST", "Run '" + query_value("run_id") + "' not found");
  }
  if (!get && endpoint == "runs/update") {
    for (auto& r : runs_) {
      if (r.run_id != string_of(in, "run_id")) continue;
      const std::string status = string_of(in, "status");
      static const std::set<std::string> kStatuses = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"};
      if (!status.empty() && !kStatuses.contains(status)) return invalid("Invalid status " + status);
      if (!status.empty()) r.status = status;
      if (in.contains("end_time")) r.end_time = int_of(in, "end_time");
      return LocalHttpResponse::json(200, json::object{{"run_info", run_info_json(r)}});
    }
    return error(404, "RESOURCE_DOES_NOT_EXIST", "Run '" + string_of(in, "run_id") + "' not found");
  }
  if (!get && endpoint == "runs/log-batch") {
    if (request.body.size() > 1000000) return invalid("Batch request body exceeds 1000000 bytes");
    return log_batch(body);
  }
  return error(404, "ENDPOINT_NOT_FOUND", "No such endpoint: " + request.method + " " + endpoint);
}

LocalHttpResponse FakeMlflowServer::log_batch(const json::value& body) {
  const json::object& in = body.as_object();
  FakeMlflowRun* run = nullptr;
  for (auto& r : runs_) {
    if (r.run_id == string_of(in, "run_id")) run = &r;
  }
  if (run == nullptr) return error(404, "RESOURCE_DOES_NOT_EXIST", "Run '" + string_of(in, "run_id") + "' not found");
  auto array_of = [&](const char* key) {
    const auto* value = in.if_contains(key);
    return value != nullptr && value->is_array() ? value->as_array() : json::array();
  };
  const json::array metrics = array_of("metrics"), params = array_of("params"), tags = array_of("tags");
  if (metrics.size() > 1000) return invalid("A batch logging request can contain at most 1000 metrics");
  if (params.size() > 100) return invalid("A batch logging request can contain at most 100 params");
  if (tags.size() > 100) return invalid("A batch logging request can contain at most 100 tags");
  if (metrics.size() + params.size() + tags.size() > 1000) {
    return invalid("A batch logging request can contain at most 1000 metrics, params and tags in total");
  }
  // Validate everything first: the real server applies a batch all or nothing.
  std::set<std::string> batch_params;
  for (const auto& p : params) {
    const std::string key = string_of(p.as_object(), "key"), value = string_of(p.as_object(), "value");
    if (const auto problem = key_problem(key); !problem.empty())
      return invalid("Invalid param name '" + key + "': " + problem);
    if (value.size() > 6000) return invalid("Param value for '" + key + "' exceeds 6000 characters");
    if (!batch_params.insert(key).second) return invalid("Duplicate parameter keys have been submitted: " + key);
    if (const auto old = run->params.find(key); old != run->params.end() && old->second != value) {
      return invalid("Changing param values is not allowed. Param with key='" + key + "' was already logged with "
                     "value='" + old->second + "'");
    }
  }
  for (const auto& t : tags) {
    const std::string key = string_of(t.as_object(), "key");
    if (const auto problem = key_problem(key); !problem.empty())
      return invalid("Invalid tag name '" + key + "': " + problem);
    if (string_of(t.as_object(), "value").size() > 8000) return invalid("Tag value for '" + key + "' is too long");
  }
  std::vector<FakeMlflowMetric> points;
  for (const auto& m : metrics) {
    const json::object& o = m.as_object();
    const std::string key = string_of(o, "key");
    if (const auto problem = key_problem(key); !problem.empty())
      return invalid("Invalid metric name '" + key + "': " + problem);
    const json::value* value = o.if_contains("value");
    double number = 0;
    if (value == nullptr) return invalid("Missing value for metric '" + key + "'");
    if (value->is_string()) {
      const std::string text(value->as_string());
      if (text == "NaN") number = std::numeric_limits<double>::quiet_NaN();
      else if (text == "Infinity") number = std::numeric_limits<double>::infinity();
      else if (text == "-Infinity") number = -std::numeric_limits<double>::infinity();
      else return invalid("Metric value for '" + key + "' is not a number: " + text);
    } else {
      number = value->to_number<double>();
    }
    if (!o.contains("timestamp")) return invalid("Missing timestamp for metric '" + key + "'");
    points.push_back({.key = key, .value = number, .timestamp = int_of(o, "timestamp"), .step = int_of(o, "step")});
  }
  for (const auto& p : params) run->params[string_of(p.as_object(), "key")] = string_of(p.as_object(), "value");
  for (const auto& t : tags) run->tags[string_of(t.as_object(), "key")] = string_of(t.as_object(), "value");
  run->metrics.insert(run->metrics.end(), points.begin(), points.end());
  return LocalHttpResponse::json(200, json::object{});
}

}  // namespace autotimm::testing
