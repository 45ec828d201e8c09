#include "wandb_api.hpp"

#include <boost/json.hpp>

namespace autotimm::wandb {

namespace json = boost::json;

namespace {

constexpr const char* kViewerQuery = "query Viewer { viewer { id entity username } }";

constexpr const char* kUpsertBucketQuery =
    "mutation UpsertBucket($id: String, $name: String, $project: String, $entity: String, $groupName: String, "
    "$description: String, $displayName: String, $notes: String, $commit: String, $config: JSONString, "
    "$host: String, $debug: Boolean, $program: String, $repo: String, $jobType: String, $state: String, "
    "$sweep: String, $tags: [String!], $summaryMetrics: JSONString) { upsertBucket(input: {id: $id, name: $name, "
    "groupName: $groupName, modelName: $project, entityName: $entity, description: $description, "
    "displayName: $displayName, notes: $notes, config: $config, commit: $commit, host: $host, debug: $debug, "
    "jobProgram: $program, jobRepo: $repo, jobType: $jobType, state: $state, sweep: $sweep, tags: $tags, "
    "summaryMetrics: $summaryMetrics}) { bucket { id name displayName description config sweepName "
    "project { id name entity { id name } } historyLineCount } inserted } }";

constexpr const char* kCreateRunFilesQuery =
    "mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) { "
    "createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run, files: $files}) { "
    "runID uploadHeaders files { name uploadUrl } } }";

std::string request_body(const char* query, json::object variables, const char* operation) {
  return json::serialize(json::object{{"query", query}, {"variables", std::move(variables)}, {"operationName", operation}});
}

const json::value* find(const json::value& value, std::initializer_list<std::string_view> path) {
  const json::value* at = &value;
  for (const auto key : path) {
    if (!at->is_object()) return nullptr;
    at = at->as_object().if_contains(key);
    if (at == nullptr) return nullptr;
  }
  return at;
}

std::string string_at(const json::value& value, std::initializer_list<std::string_view> path) {
  const json::value* at = find(value, path);
  return at != nullptr && at->is_string() ? std::string(at->as_string()) : std::string();
}

}  // namespace

std::string viewer_body() { return request_body(kViewerQuery, {}, "Viewer"); }

std::string upsert_bucket_body(const RunAttributes& run, const std::string& storage_id) {
  json::object config;
  for (const auto& [key, value] : run.config) config[key] = json::object{{"value", value}};
  json::object variables{{"name", run.run_id}, {"project", run.project}, {"config", json::serialize(config)}};
  // Only what is known: an absent variable leaves the run's field as it is on an update.
  if (!storage_id.empty()) variables["id"] = storage_id;
  if (!run.entity.empty()) variables["entity"] = run.entity;
  if (!run.display_name.empty()) variables["displayName"] = run.display_name;
  if (!run.notes.empty()) variables["notes"] = run.notes;
  if (!run.group.empty()) variables["groupName"] = run.group;
  if (!run.job_type.empty()) variables["jobType"] = run.job_type;
  if (!run.host.empty()) variables["host"] = run.host;
  if (!run.tags.empty()) {
    json::array tags;
    for (const auto& tag : run.tags) tags.emplace_back(tag);
    variables["tags"] = std::move(tags);
  }
  return request_body(kUpsertBucketQuery, std::move(variables), "UpsertBucket");
}

std::string create_run_files_body(const std::string& entity, const std::string& project, const std::string& run_id,
                                  const std::vector<std::string>& files) {
  json::array names;
  for (const auto& file : files) names.emplace_back(file);
  return request_body(kCreateRunFilesQuery,
                      {{"entity", entity}, {"project", project}, {"run", run_id}, {"files", std::move(names)}},
                      "CreateRunFiles");
}

std::string file_stream_body(const StreamChunk& chunk) {
  json::object files;
  if (!chunk.history.empty()) {
    json::array content;
    for (const auto& line : chunk.history) content.emplace_back(line);
    files["wandb-history.jsonl"] = json::object{{"offset", chunk.history_offset}, {"content", std::move(content)}};
  }
  if (chunk.summary) files["wandb-summary.json"] = json::object{{"offset", 0}, {"content", json::array{*chunk.summary}}};
  json::object body;
  if (!files.empty()) body["files"] = std::move(files);
  if (!chunk.uploaded.empty()) {
    json::array names;
    for (const auto& name : chunk.uploaded) names.emplace_back(name);
    body["uploaded"] = std::move(names);
  }
  if (chunk.exitcode) {
    body["complete"] = true;
    body["exitcode"] = *chunk.exitcode;
  }
  return json::serialize(body);
}

WandbApi::WandbApi(ApiOptions options)
    : options_(std::move(options)),
      client_({.user_agent = "autotimm-wandb/0.1",
               .log_name = "wandb",
               .transport_hint = "check that the W&B server at " + options_.base_url + " is reachable (WANDB_BASE_URL)"}) {}

http::Response WandbApi::send(http::Request request, const std::string& what) {
  if (!options_.authorization.empty() && request.url.starts_with(options_.base_url)) {
    request.headers.push_back("Authorization: " + options_.authorization);
  }
  request.timeout_s = options_.timeout_s;
  http::Response answer;
  try {
    answer = client_.exchange_retrying(request, options_.retry);
  } catch (const http::TransportError& error) {
    throw Unavailable("wandb: " + what + ": " + error.what());
  }
  const std::string detail = answer.body.empty() ? "" : ": " + answer.body.substr(0, 300);
  if (answer.status == 401 || answer.status == 403) {
    throw ConfigError("wandb: " + what + ": the server at " + options_.base_url + " refused the API key (" +
                      std::to_string(answer.status) + "); check WANDB_API_KEY, or log offline with "
                      "WANDB_MODE=offline" + detail);
  }
  if (http::is_retryable_status(answer.status)) {
    throw Unavailable("wandb: " + what + ": the server answered " + std::to_string(answer.status) + detail);
  }
  if (answer.status < 200 || answer.status >= 300) {
    throw Rejected("wandb: " + what + ": the server answered " + std::to_string(answer.status) + detail);
  }
  return answer;
}

json::value WandbApi::graphql(const std::string& body, const std::string& operation) {
  const http::Response answer = send({.method = "POST",
                                      .url = options_.base_url + "/graphql",
                                      .headers = {"Content-Type: application/json"},
                                      .body = body},
                                     operation);
  boost::system::error_code ec;
  const json::value parsed = json::parse(answer.body, ec);
  if (ec || !parsed.is_object()) {
    throw Rejected("wandb: " + operation + ": the server's answer is not a JSON object: " + answer.body.substr(0, 200));
  }
  if (const auto* errors = parsed.as_object().if_contains("errors"); errors != nullptr && errors->is_array() &&
                                                                       !errors->as_array().empty()) {
    std::string messages;
    for (const auto& error : errors->as_array()) {
      const std::string message = string_at(error, {"message"});
      messages += (messages.empty() ? "" : "; ") + (message.empty() ? json::serialize(error) : message);
    }
    throw Rejected("wandb: " + operation + " failed: " + messages);
  }
  const json::value* data = parsed.as_object().if_contains("data");
  if (data == nullptr || !data->is_object()) throw Rejected("wandb: " + operation + ": the answer has no data");
  return *data;
}

std::string WandbApi::default_entity() {
  const json::value data = graphql(viewer_body(), "Viewer");
  std::string entity = string_at(data, {"viewer", "entity"});
  if (entity.empty()) {
    throw Rejected("wandb: the API key has no default entity; set option 'entity' or WANDB_ENTITY to a team or user");
  }
  return entity;
}

RunRecord WandbApi::upsert_run(const RunAttributes& run, const std::string& storage_id) {
  const json::value data = graphql(upsert_bucket_body(run, storage_id), "UpsertBucket");
  const json::value* bucket = find(data, {"upsertBucket", "bucket"});
  if (bucket == nullptr || !bucket->is_object()) throw Rejected("wandb: UpsertBucket answered no bucket");
  RunRecord record;
  record.storage_id = string_at(*bucket, {"id"});
  record.run_id = string_at(*bucket, {"name"});
  record.display_name = string_at(*bucket, {"displayName"});
  record.project = string_at(*bucket, {"project", "name"});
  record.entity = string_at(*bucket, {"project", "entity", "name"});
  if (const json::value* lines = find(*bucket, {"historyLineCount"}); lines != nullptr && lines->is_number()) {
    record.history_line_count = lines->to_number<std::int64_t>();
  }
  if (const json::value* inserted = find(data, {"upsertBucket", "inserted"}); inserted != nullptr && inserted->is_bool()) {
    record.inserted = inserted->as_bool();
  }
  if (record.storage_id.empty() || record.entity.empty() || record.project.empty()) {
    throw Rejected("wandb: UpsertBucket's answer lacks the run's id, project or entity: " + json::serialize(*bucket));
  }
  if (record.run_id.empty()) record.run_id = run.run_id;
  return record;
}

void WandbApi::upload_files(const std::string& entity, const std::string& project, const std::string& run_id,
                            const std::vector<std::pair<std::string, std::string>>& files) {
  if (files.empty()) return;
  std::vector<std::string> names;
  for (const auto& [name, bytes] : files) names.push_back(name);
  const json::value data = graphql(create_run_files_body(entity, project, run_id, names), "CreateRunFiles");
  std::vector<std::string> headers;
  if (const json::value* extra = find(data, {"createRunFiles", "uploadHeaders"}); extra != nullptr && extra->is_array()) {
    for (const auto& header : extra->as_array()) {
      if (header.is_string()) headers.emplace_back(header.as_string());
    }
  }
  const json::value* listed = find(data, {"createRunFiles", "files"});
  if (listed == nullptr || !listed->is_array()) throw Rejected("wandb: CreateRunFiles answered no files");
  for (const auto& [name, bytes] : files) {
    std::string url;
    for (const auto& file : listed->as_array()) {
      if (string_at(file, {"name"}) == name) url = string_at(file, {"uploadUrl"});
    }
    if (url.empty()) throw Rejected("wandb: CreateRunFiles gave no upload URL for " + name);
    send({.method = "PUT", .url = url, .headers = headers, .body = bytes}, "upload of " + name);
  }
}

bool WandbApi::file_stream(const std::string& entity, const std::string& project, const std::string& run_id,
                           const std::string& body) {
  const std::string url = options_.base_url + "/files/" + http::url_encode(entity) + "/" + http::url_encode(project) +
                          "/" + http::url_encode(run_id) + "/file_stream";
  const http::Response answer =
      send({.method = "POST", .url = url, .headers = {"Content-Type: application/json"}, .body = body}, "file_stream");
  boost::system::error_code ec;
  const json::value parsed = json::parse(answer.body, ec);
  if (ec) return false;
  const json::value* stopped = find(parsed, {"stopped"});
  return stopped != nullptr && stopped->is_bool() && stopped->as_bool();
}

}  // namespace autotimm::wandb
