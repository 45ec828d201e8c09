#include "rest_store.hpp"

#include <cmath>
#include <filesystem>
#include <thread>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "autotimm/io/atomic_file.hpp"
#include "mlflow_options.hpp"

namespace autotimm::mlflow {

namespace json = boost::json;

namespace {

/// MLflow's JSON for a double: a number, or "NaN" / "Infinity" / "-Infinity" (JSON has no non-finite numbers).
json::value metric_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

json::object metric_json(const Record& r) {
  return {{"key", r.key}, {"value", metric_value(r.value)}, {"timestamp", r.timestamp}, {"step", r.step}};
}

json::object key_value_json(const std::string& key, const std::string& value) {
  return {{"key", key}, {"value", value}};
}

std::string string_at(const json::value& value, std::initializer_list<std::string_view> path) {
  const json::value* at = &value;
  for (const auto key : path) {
    if (!at->is_object()) return {};
    const auto* next = at->as_object().if_contains(key);
    if (next == nullptr) return {};
    at = next;
  }
  return at->is_string() ? std::string(at->as_string()) : at->is_null() ? std::string() : json::serialize(*at);
}

RunInfo run_info_of(const json::value& answer) {
  RunInfo info;
  info.run_id = string_at(answer, {"run", "info", "run_id"});
  if (info.run_id.empty()) info.run_id = string_at(answer, {"run", "info", "run_uuid"});
  info.experiment_id = string_at(answer, {"run", "info", "experiment_id"});
  info.run_name = string_at(answer, {"run", "info", "run_name"});
  info.artifact_uri = string_at(answer, {"run", "info", "artifact_uri"});
  if (info.run_id.empty()) throw StoreRejected("the server's answer names no run: " + json::serialize(answer));
  return info;
}

}  // namespace

std::string status_name(RunStatus status) {
  switch (status) {
    case RunStatus::success:
      return "FINISHED";
    case RunStatus::failed:
      return "FAILED";
    case RunStatus::killed:
      return "KILLED";
  }
  return "FINISHED";
}

std::string log_batch_body(const std::string& run_id, std::span<const Record> batch) {
  json::array metrics, params, tags;
  for (const Record& r : batch) {
    switch (r.kind) {
      case Record::Kind::metric:
        metrics.emplace_back(metric_json(r));
        break;
      case Record::Kind::param:
        params.emplace_back(key_value_json(r.key, r.text));
        break;
      case Record::Kind::tag:
        tags.emplace_back(key_value_json(r.key, r.text));
        break;
    }
  }
  return json::serialize(json::object{{"run_id", run_id}, {"metrics", metrics}, {"params", params}, {"tags", tags}});
}

std::size_t serialized_size(const Record& record) {
  const json::object object =
      record.kind == Record::Kind::metric ? metric_json(record) : key_value_json(record.key, record.text);
  return json::serialize(object).size() + 1;  // and its comma
}

RestStore::RestStore(RestStoreOptions options)
    : options_(std::move(options)),
      client_(
          {.user_agent = "autotimm-mlflow/0.1",
           .log_name = "mlflow",
           .transport_hint = "check that the MLflow server at " + options_.server_uri + " is up (MLFLOW_TRACKING_URI)",
           .insecure_tls = options_.insecure_tls,
           .ca_cert_path = options_.ca_cert_path,
           .client_cert_path = options_.client_cert_path}),
      retries_(options_.max_retries) {}

http::Response RestStore::send(http::Request request) {
  if (!options_.authorization.empty()) request.headers.push_back("Authorization: " + options_.authorization);
  request.timeout_s = options_.timeout_s;
  try {
    http::Response answer = client_.exchange_retrying(
        request, {.max_retries = retries_, .first_backoff = options_.first_backoff, .cap = std::chrono::seconds(30)});
    if (!http::is_retryable_status(answer.status)) return answer;
    throw StoreUnavailable(request.method + " " + request.url + " answered " + std::to_string(answer.status) +
                           (answer.body.empty() ? "" : ": " + answer.body.substr(0, 200)));
  } catch (const http::TransportError& error) {
    throw StoreUnavailable(error.what());
  }
}

json::value RestStore::call(const std::string& method, const std::string& endpoint, const std::string& body) {
  http::Request request{.method = method, .url = options_.server_uri + "/api/2.0/mlflow/" + endpoint};
  if (method != "GET") {
    request.headers.push_back("Content-Type: application/json");
    request.body = body;
  }
  const http::Response answer = send(std::move(request));
  json::value parsed;
  boost::system::error_code ec;
  if (!answer.body.empty()) parsed = json::parse(answer.body, ec);
  if (answer.status >= 200 && answer.status < 300) {
    if (ec)
      throw StoreUnavailable(method + " " + endpoint +
                             ": the server's answer is not JSON: " + answer.body.substr(0, 200));
    return parsed.is_null() ? json::value(json::object()) : parsed;
  }
  const std::string code = ec ? std::string() : string_at(parsed, {"error_code"});
  const std::string message = ec ? answer.body.substr(0, 200) : string_at(parsed, {"message"});
  throw StoreRejected(method + " " + options_.server_uri + "/api/2.0/mlflow/" + endpoint + " answered " +
                          std::to_string(answer.status) + (code.empty() ? "" : " " + code) +
                          (message.empty() ? "" : ": " + message),
                      answer.status, code);
}

RunInfo RestStore::start(const StartRequest& request) {
  if (!request.run_id.empty()) {
    json::value got;
    try {
      got = call("GET", "runs/get?run_id=" + http::url_encode(request.run_id));
    } catch (const StoreRejected& error) {
      if (error.status != 404) throw;
      throw ConfigError("mlflow: run_id '" + request.run_id + "' not found on " + options_.server_uri +
                        "; check the id (MLFLOW_RUN_ID) or leave it empty to start a new run");
    }
    RunInfo info = run_info_of(got);
    const json::value experiment = call("GET", "experiments/get?experiment_id=" + http::url_encode(info.experiment_id));
    info.experiment_name = string_at(experiment, {"experiment", "name"});
    call("POST", "runs/update", json::serialize(json::object{{"run_id", info.run_id}, {"status", "RUNNING"}}));
    return info;
  }

  // Get-or-create: a deleted experiment counts as missing; a create that loses a race is answered by a second get.
  std::string experiment_id;
  for (int round = 0; round < 2 && experiment_id.empty(); ++round) {
    try {
      const json::value found =
          call("GET", "experiments/get-by-name?experiment_name=" + http::url_encode(request.experiment_name));
      if (string_at(found, {"experiment", "lifecycle_stage"}) != "deleted") {
        experiment_id = string_at(found, {"experiment", "experiment_id"});
        break;
      }
    } catch (const StoreRejected& error) {
      if (error.error_code != "RESOURCE_DOES_NOT_EXIST" && error.status != 404) throw;
    }
    if (round > 0) break;
    json::object create{{"name", request.experiment_name}};
    if (!request.artifact_location.empty()) create["artifact_location"] = request.artifact_location;
    try {
      experiment_id = string_at(call("POST", "experiments/create", json::serialize(create)), {"experiment_id"});
    } catch (const StoreRejected& error) {
      if (error.error_code != "RESOURCE_ALREADY_EXISTS") throw;
    }
  }
  if (experiment_id.empty()) {
    throw ConfigError("mlflow: experiment '" + request.experiment_name + "' on " + options_.server_uri +
                      " is deleted and cannot be created again; restore it (mlflow experiments restore) or choose "
                      "another experiment_name");
  }

  json::array tags;
  for (const auto& [key, value] : request.tags) tags.emplace_back(key_value_json(key, value));
  json::object create{{"experiment_id", experiment_id}, {"start_time", request.start_time}, {"tags", tags}};
  if (!request.run_name.empty()) create["run_name"] = request.run_name;
  RunInfo info = run_info_of(call("POST", "runs/create", json::serialize(create)));
  info.experiment_id = experiment_id;
  info.experiment_name = request.experiment_name;
  return info;
}

void RestStore::log_batch(const RunInfo& run, std::span<const Record> batch) {
  call("POST", "runs/log-batch", log_batch_body(run.run_id, batch));
}

void RestStore::end(const RunInfo& run, RunStatus status, std::int64_t end_time) {
  call("POST", "runs/update",
       json::serialize(json::object{{"run_id", run.run_id}, {"status", status_name(status)}, {"end_time", end_time}}));
}

std::string RestStore::artifact_url(const RunInfo& run, const std::string& path) const {
  // Proxied artifacts: mlflow-artifacts:/<exp>/<run>/artifacts, or mlflow-artifacts://host:port/<exp>/<run>/...
  static constexpr std::string_view kScheme = "mlflow-artifacts:";
  std::string_view rest = run.artifact_uri;
  if (!rest.starts_with(kScheme)) {
    throw StoreRejected("artifact location '" + run.artifact_uri + "' is not supported by this client (only "
                        "mlflow-artifacts: and file: locations are); start the server with artifact serving "
                        "(mlflow server --serve-artifacts)");
  }
  rest.remove_prefix(kScheme.size());
  std::string base = options_.server_uri;
  if (rest.starts_with("//")) {
    rest.remove_prefix(2);
    const auto slash = rest.find('/');
    const std::string authority(rest.substr(0, slash));
    if (!authority.empty()) base = options_.server_uri.substr(0, options_.server_uri.find("://") + 3) + authority;
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  while (rest.starts_with('/')) rest.remove_prefix(1);
  return base + "/api/2.0/mlflow-artifacts/artifacts/" + http::url_encode(rest, "/") + "/" +
         http::url_encode(path, "/");
}

void RestStore::put_artifact(const RunInfo& run, const std::string& path, const std::string& bytes,
                             const std::string& content_type) {
  if (run.artifact_uri.starts_with("file:")) {
    // The server keeps artifacts in a folder (no artifact serving): write there, as MLflow's client does. This works
    // when that folder is on this machine or mounted here.
    const std::filesystem::path target = path_of_file_uri(run.artifact_uri) / path;
    try {
      std::filesystem::create_directories(target.parent_path());
      write_file_atomically(target, bytes);
    } catch (const std::exception& error) {
      throw StoreRejected("cannot write artifact '" + target.string() + "' (the run's artifact location is " +
                          run.artifact_uri + "): " + error.what());
    }
    return;
  }
  const std::string url = artifact_url(run, path);
  const http::Response answer =
      send({.method = "PUT", .url = url, .headers = {"Content-Type: " + content_type}, .body = bytes});
  if (answer.status < 200 || answer.status >= 300) {
    throw StoreRejected("PUT " + url + " answered " + std::to_string(answer.status) + ": " + answer.body.substr(0, 200),
                        answer.status);
  }
}

}  // namespace autotimm::mlflow
