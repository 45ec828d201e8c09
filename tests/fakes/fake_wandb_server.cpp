// The fake W&B server: state in memory, the checks the real server makes on what a client sends.
#include "fakes/fake_wandb_server.hpp"

#include <algorithm>
#include <regex>
#include <stdexcept>

#include <boost/json.hpp>

namespace autotimm::testing {

namespace json = boost::json;

namespace {

std::string base64(const std::string& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  if (i < bytes.size()) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

LocalHttpResponse graphql_error(const std::string& message) {
  return LocalHttpResponse::json(200, json::object{{"errors", json::array{json::object{{"message", message}}}},
                                                   {"data", nullptr}});
}

LocalHttpResponse bad_request(const std::string& message) {
  return LocalHttpResponse::json(400, json::object{{"error", message}});
}

std::string text_of(const json::object& object, const char* key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

json::object bucket_json(const FakeWandbRun& run) {
  json::object config;
  for (const auto& [key, value] : run.config) config[key] = json::object{{"value", value}};
  return {{"id", run.storage_id},
          {"name", run.name},
          {"displayName", run.display_name.empty() ? "fake-run-" + run.name : run.display_name},
          {"description", run.notes},
          {"config", json::serialize(config)},
          {"sweepName", nullptr},
          {"project", json::object{{"id", "UHJvamVjdDox"}, {"name", run.project},
                                   {"entity", json::object{{"id", "RW50aXR5OjE="}, {"name", run.entity}}}}},
          {"historyLineCount", run.history.size()}};
}

}  // namespace

json::value parse_wandb_line(const std::string& line) {
  std::string strict;
  bool in_string = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      strict += c;
      if (c == '\\' && i + 1 < line.size()) {
        strict += line[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    for (const std::string token : {"NaN", "Infinity", "-Infinity"}) {
      if (line.compare(i, token.size(), token) == 0) {
        strict += "\"" + token + "\"";
        i += token.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) strict += c;
  }
  boost::system::error_code ec;
  json::value value = json::parse(strict, ec);
  if (ec) throw std::invalid_argument("not JSON: " + line);
  return value;
}

FakeWandbServer::FakeWandbServer(std::string api_key, std::string default_entity)
    : api_key_(std::move(api_key)),
      default_entity_(std::move(default_entity)),
      server_([this](const LocalHttpRequest& request) { return answer(request); }) {}

FakeWandbServer::~FakeWandbServer() = default;

std::vector<FakeWandbRun> FakeWandbServer::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

std::optional<FakeWandbRun> FakeWandbServer::run(const std::string& name) const {
  std::lock_guard lock(mutex_);
  for (const auto& run : runs_) {
    if (run.name == name) return run;
  }
  return std::nullopt;
}

std::map<std::string, std::string> FakeWandbServer::uploads() const {
  std::lock_guard lock(mutex_);
  return uploads_;
}

void FakeWandbServer::stop_run(const std::string& name) {
  std::lock_guard lock(mutex_);
  stopped_.push_back(name);
}

void FakeWandbServer::add_run(const std::string& entity, const std::string& project, const std::string& name,
                              int lines) {
  std::lock_guard lock(mutex_);
  FakeWandbRun run{.storage_id = "UnVuOi" + std::to_string(next_storage_id_++), .entity = entity, .project = project,
                   .name = name};
  for (int i = 0; i < lines; ++i) run.history.push_back("{\"loss\":1,\"_step\":" + std::to_string(i) + "}");
  runs_.push_back(std::move(run));
}

LocalHttpResponse FakeWandbServer::answer(const LocalHttpRequest& request) {
  if (request.method == "PUT" && request.path.starts_with("/storage/")) {
    std::lock_guard lock(mutex_);
    uploads_[request.path.substr(std::string("/storage/").size())] = request.body;
    return {.status = 200};
  }
  if (request.authorization != "Basic " + base64("api:" + api_key_)) {
    return LocalHttpResponse::json(401, json::object{{"errors", json::array{json::object{{"message", "unauthorized"}}}}});
  }
  if (request.method != "POST") return bad_request("unexpected method " + request.method);
  if (request.header("content-type") != "application/json") return bad_request("Content-Type must be application/json");
  if (request.path == "/graphql") {
    boost::system::error_code ec;
    const json::value body = json::parse(request.body, ec);
    if (ec || !body.is_object()) return bad_request("body is not a JSON object");
    return graphql(body.as_object());
  }
  static const std::regex kStream(R"(/files/([^/]+)/([^/]+)/([^/]+)/file_stream)");
  std::smatch match;
  if (std::regex_match(request.path, match, kStream)) return file_stream(match[1], match[2], match[3], request.body);
  return LocalHttpResponse::json(404, json::object{{"error", "no route " + request.path}});
}

LocalHttpResponse FakeWandbServer::graphql(const json::object& body) {
  const std::string query = text_of(body, "query");
  const std::string operation = text_of(body, "operationName");
  const auto* variables = body.if_contains("variables");
  if (query.empty() || variables == nullptr || !variables->is_object()) {
    return bad_request("a GraphQL request needs query and variables");
  }
  if (query.find(operation + "(") == std::string::npos && query.find(operation + " ") == std::string::npos) {
    return graphql_error("operationName '" + operation + "' is not defined in the query");
  }
  if (operation == "Viewer" && query.find("viewer {") != std::string::npos) {
    return LocalHttpResponse::json(200, json::object{{"data", json::object{{"viewer", json::object{
        {"id", "VXNlcjox"}, {"entity", default_entity_}, {"username", default_entity_}}}}}});
  }
  if (operation == "UpsertBucket" && query.find("upsertBucket(input:") != std::string::npos) {
    return upsert(variables->as_object());
  }
  if (operation == "CreateRunFiles" && query.find("createRunFiles(input:") != std::string::npos) {
    return create_run_files(variables->as_object());
  }
  return graphql_error("unknown operation " + operation);
}

LocalHttpResponse FakeWandbServer::upsert(const json::object& variables) {
  static const std::regex kRunName("[a-z0-9_-]{1,64}");
  const std::string name = text_of(variables, "name");
  const std::string project = text_of(variables, "project");
  const std::string entity = variables.contains("entity") ? text_of(variables, "entity") : default_entity_;
  if (!std::regex_match(name, kRunName)) return graphql_error("invalid run name '" + name + "'");
  if (project.empty()) return graphql_error("project is required");
  json::object config;
  if (const auto* text = variables.if_contains("config"); text != nullptr) {
    if (!text->is_string()) return graphql_error("Variable \"$config\" got invalid value; JSONString expected");
    boost::system::error_code ec;
    const json::value parsed = json::parse(text->as_string(), ec);
    if (ec || !parsed.is_object()) return graphql_error("config is not a JSON object string");
    for (const auto& [key, wrapped] : parsed.as_object()) {
      if (!wrapped.is_object() || !wrapped.as_object().contains("value")) {
        return graphql_error("config key '" + std::string(key) + "' is not {\"value\": ...}");
      }
      config[key] = wrapped.as_object().at("value");
    }
  }
  std::lock_guard lock(mutex_);
  auto it = std::find_if(runs_.begin(), runs_.end(), [&](const FakeWandbRun& r) {
    return r.name == name && r.project == project && r.entity == entity;
  });
  const bool inserted = it == runs_.end();
  if (const std::string id = text_of(variables, "id"); !id.empty() && (inserted || it->storage_id != id)) {
    return graphql_error("bucket id '" + id + "' does not name run " + name);
  }
  if (inserted) {
    runs_.push_back({.storage_id = "UnVuOi" + std::to_string(next_storage_id_++), .entity = entity, .project = project,
                     .name = name});
    it = runs_.end() - 1;
  }
  FakeWandbRun& run = *it;
  ++run.upserts;
  if (variables.contains("config")) {
    for (const auto& [key, value] : config) run.config[key] = value;
  }
  if (variables.contains("displayName")) run.display_name = text_of(variables, "displayName");
  if (variables.contains("notes")) run.notes = text_of(variables, "notes");
  if (variables.contains("groupName")) run.group = text_of(variables, "groupName");
  if (variables.contains("jobType")) run.job_type = text_of(variables, "jobType");
  if (variables.contains("host")) run.host = text_of(variables, "host");
  if (const auto* tags = variables.if_contains("tags"); tags != nullptr && tags->is_array()) {
    run.tags.clear();
    for (const auto& tag : tags->as_array()) run.tags.emplace_back(tag.as_string());
  }
  return LocalHttpResponse::json(200, json::object{{"data", json::object{{"upsertBucket", json::object{
      {"bucket", bucket_json(run)}, {"inserted", inserted}}}}}});
}

LocalHttpResponse FakeWandbServer::create_run_files(const json::object& variables) {
  const std::string entity = text_of(variables, "entity"), project = text_of(variables, "project"),
                    name = text_of(variables, "run");
  const auto* files = variables.if_contains("files");
  if (files == nullptr || !files->is_array()) return graphql_error("files is required");
  std::lock_guard lock(mutex_);
  const bool known = std::any_of(runs_.begin(), runs_.end(), [&](const FakeWandbRun& r) {
    return r.name == name && r.project == project && r.entity == entity;
  });
  if (!known) return graphql_error("run " + entity + "/" + project + "/" + name + " not found");
  json::array listed;
  for (const auto& file : files->as_array()) {
    const std::string file_name(file.as_string());
    listed.push_back(json::object{{"name", file_name},
                                  {"uploadUrl", endpoint() + "/storage/" + entity + "/" + project + "/" + name + "/" +
                                                    file_name}});
  }
  return LocalHttpResponse::json(200, json::object{{"data", json::object{{"createRunFiles", json::object{
      {"runID", name}, {"uploadHeaders", json::array{"Content-Type:application/octet-stream"}},
      {"files", std::move(listed)}}}}}});
}

LocalHttpResponse FakeWandbServer::file_stream(const std::string& entity, const std::string& project,
                                               const std::string& name, const std::string& text) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) return bad_request("file_stream body is not a JSON object");
  const json::object& body = parsed.as_object();
  std::lock_guard lock(mutex_);
  auto it = std::find_if(runs_.begin(), runs_.end(), [&](const FakeWandbRun& r) {
    return r.name == name && r.project == project && r.entity == entity;
  });
  if (it == runs_.end()) return LocalHttpResponse::json(404, json::object{{"error", "run not found"}});
  FakeWandbRun& run = *it;
  if (run.complete) return bad_request("run " + name + " is complete");
  if (body.empty()) ++run.heartbeats;
  if (const auto* files = body.if_contains("files")) {
    for (const auto& [file, entry] : files->as_object()) {
      const auto offset = static_cast<std::size_t>(entry.at("offset").to_number<std::int64_t>());
      const auto& content = entry.at("content").as_array();
      if (file == "wandb-history.jsonl") {
        if (offset > run.history.size()) {
          return bad_request("history offset " + std::to_string(offset) + " leaves a gap after line " +
                             std::to_string(run.history.size()));
        }
        for (std::size_t i = 0; i < content.size(); ++i) {
          const std::string line(content[i].as_string());
          try {
            const json::value row = parse_wandb_line(line);
            if (!row.is_object() || !row.as_object().contains("_step")) return bad_request("history line without _step");
          } catch (const std::invalid_argument& error) {
            return bad_request(error.what());
          }
          if (offset + i < run.history.size()) {
            run.history[offset + i] = line;
          } else {
            run.history.push_back(line);
          }
        }
      } else if (file == "wandb-summary.json") {
        if (offset != 0 || content.size() != 1) return bad_request("the summary is one line at offset 0");
        run.summary = std::string(content[0].as_string());
      } else {
        return bad_request("unexpected file " + std::string(file));
      }
    }
  }
  if (const auto* uploaded = body.if_contains("uploaded")) {
    for (const auto& file : uploaded->as_array()) run.uploaded.emplace_back(file.as_string());
  }
  if (const auto* complete = body.if_contains("complete"); complete != nullptr && complete->as_bool()) {
    run.complete = true;
    run.exitcode = static_cast<int>(body.at("exitcode").to_number<std::int64_t>());
  }
  json::object out{{"exitcode", nullptr}, {"limits", json::object{}}};
  if (std::find(stopped_.begin(), stopped_.end(), name) != stopped_.end()) out["stopped"] = true;
  return LocalHttpResponse::json(200, out);
}

}  // namespace autotimm::testing
