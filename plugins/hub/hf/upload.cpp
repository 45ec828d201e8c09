// `HfHubResolver::upload`: a commit through the Hub's HTTP commit API, the way huggingface_hub's create_commit does it
// (docs/export.md has the protocol):
//   1. optionally POST /api/repos/create                        {"name", "organization", "private"}; 409 = exists
//   2. POST /api/models/{repo}/preupload/{revision}             {"files": [{path, sample, size, sha}]}
//                                                               → {"files": [{path, uploadMode: lfs|regular}]}
//   3. POST /{repo}.git/info/lfs/objects/batch (git-lfs batch)  {"operation": "upload", "transfers": ["basic"],
//                                                                "objects": [{oid, size}], "hash_algo": "sha256"}
//      then PUT each object's bytes to actions.upload.href (with its header), POST actions.verify when present
//   4. POST /api/models/{repo}/commit/{revision}, application/x-ndjson: a header line {summary, description}, then
//      one line per file: "file" (base64 content) or "lfsFile" (sha256 oid and size)
// The token goes only to the endpoint's origin (HttpClient), never to the storage host an LFS href names.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <fstream>
#include <iterator>
#include <map>

#include "autotimm/error.hpp"
#include "digest/sha256.hpp"
#include "hf_resolver.hpp"
#include "hub_cache.hpp"

namespace autotimm::hf {

namespace {

constexpr std::size_t kSampleBytes = 512;  // what preupload sees of each file to guess text or binary

struct PreparedFile {
  HubUploadFile file;
  std::string content;
  std::string sha256;
  bool lfs = false;
};

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot read '" + path.string() + "' for the upload; check that it exists and is readable");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Weights go through LFS whatever the server says: the Hub keeps them there (its .gitattributes lists them) and a
// regular git file of model size would be refused.
bool always_lfs(const std::string& path) {
  for (const char* extension : {".safetensors", ".bin", ".pth", ".pt", ".ckpt", ".onnx", ".gguf", ".h5", ".msgpack"}) {
    if (path.ends_with(extension)) return true;
  }
  return false;
}

std::string json_text(const boost::json::value& value) { return boost::json::serialize(value); }

boost::json::object parse_object(const HttpResponse& response, const std::string& what) {
  boost::system::error_code ec;
  auto value = boost::json::parse(response.body, ec);
  if (ec || !value.is_object()) {
    throw HubError("the Hub's answer to " + what + " is not a JSON object (HTTP " + std::to_string(response.status) +
                   " from " + response.url + "); check HF_ENDPOINT");
  }
  return std::move(value.as_object());
}

std::string string_field(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

// The server's own words, from X-Error-Message or the JSON body's "error".
std::string server_words(const HttpResponse& response) {
  if (auto message = response.header("x-error-message")) return *message;
  boost::system::error_code ec;
  auto value = boost::json::parse(response.body, ec);
  if (!ec && value.is_object()) {
    if (const auto* error = value.as_object().if_contains("error"); error != nullptr && error->is_string()) {
      return std::string(error->as_string());
    }
  }
  return response.body.size() < 300 ? response.body : response.body.substr(0, 300);
}

[[noreturn]] void throw_upload_error(const HttpResponse& response, const std::string& repo_id, const std::string& step) {
  const std::string words = server_words(response);
  const std::string where = " (HTTP " + std::to_string(response.status) + " from " + response.url + ")" +
                            (words.empty() ? "" : ": " + words);
  const std::string subject = "cannot upload to '" + repo_id + "' (" + step + ")";
  switch (response.status) {
    case 401:
      throw HubError(subject + ": the Hub refused the token" + where +
                     "; set HF_TOKEN to a valid token with write access (huggingface.co/settings/tokens)");
    case 403:
      throw HubError(subject + ": the token may not write there" + where +
                     "; use a token with write access to that user or organisation, or upload to your own namespace");
    case 404:
      // A HubError like the other refusals (callers catch one family for uploads).
      throw HubError(subject + ": no such repo or branch" + where +
                          "; create the repo first (autotimm hub upload --create) or check the name and --revision");
    default: break;
  }
  if (response.status == 429 || response.status >= 500) {
    throw HubError(subject + ": the Hub kept failing" + where + " after retries; try again later");
  }
  throw HubError(subject + ": unexpected answer" + where + "; check HF_ENDPOINT");
}

}  // namespace

HubUploadResult HfHubResolver::upload(const HubUploadRequest& request) {
  check_repo_id(request.repo_id);
  const std::string revision = request.revision.empty() ? std::string("main") : request.revision;
  check_revision(revision);
  if (options_.offline) {
    throw HubError("cannot upload to '" + request.repo_id +
                   "' in offline mode (HF_HUB_OFFLINE or the hub option 'offline'); turn it off");
  }
  if (options_.token.empty()) {
    throw HubError("cannot upload to '" + request.repo_id +
                   "': no Hub token; set HF_TOKEN to a token with write access (huggingface.co/settings/tokens) or "
                   "save one in $HF_HOME/token");
  }
  if (request.files.empty()) throw ConfigError("cannot upload to '" + request.repo_id + "': no files given");
  const auto slash = request.repo_id.find('/');
  if (slash == std::string::npos) {
    throw ConfigError("cannot upload to '" + request.repo_id +
                      "': expected org/name (a user or organisation, then the repo name)");
  }
  HubUploadResult result;
  auto post_json = [&](const std::string& url, const boost::json::value& body, std::vector<std::string> headers) {
    headers.emplace_back("Content-Type: application/json");
    return client_.fetch({.method = "POST", .url = url, .headers = std::move(headers), .body = json_text(body),
                          .timeout_s = options_.download_timeout_s},
                         options_.max_retries);
  };

  // 1. The repo.
  if (request.create_repo) {
    const HttpResponse created = post_json(options_.endpoint + "/api/repos/create",
                                           boost::json::object{{"name", request.repo_id.substr(slash + 1)},
                                                               {"organization", request.repo_id.substr(0, slash)},
                                                               {"private", request.private_repo}},
                                           {});
    if (created.status == 200 || created.status == 201) {
      result.created_repo = true;
    } else if (created.status != 409) {  // 409: it exists already, which is what we wanted
      throw_upload_error(created, request.repo_id, "creating the repo");
    }
  }

  // 2. Which files go through LFS.
  std::vector<PreparedFile> files;
  boost::json::array listing;
  for (const auto& file : request.files) {
    if (file.path_in_repo.empty() || file.path_in_repo.starts_with('/') ||
        file.path_in_repo.find("..") != std::string::npos) {
      throw ConfigError("cannot upload '" + file.path_in_repo + "': a repo path must be relative, without '..'");
    }
    PreparedFile prepared{.file = file, .content = read_all(file.local_path), .sha256 = {}, .lfs = false};
    prepared.sha256 = digest::sha256_hex(prepared.content);
    listing.push_back(boost::json::object{
        {"path", file.path_in_repo},
        {"sample", http::base64_encode(std::string_view(prepared.content).substr(0, kSampleBytes))},
        {"size", prepared.content.size()},
        {"sha", prepared.sha256}});
    files.push_back(std::move(prepared));
  }
  const std::string repo_api = options_.endpoint + "/api/models/" + request.repo_id;
  const HttpResponse preupload =
      post_json(repo_api + "/preupload/" + url_encode(revision), boost::json::object{{"files", listing}}, {});
  if (preupload.status != 200) throw_upload_error(preupload, request.repo_id, "asking which files go through LFS");
  std::map<std::string, std::string> modes;
  const boost::json::object preupload_answer = parse_object(preupload, "the preupload request");
  if (const auto* answered = preupload_answer.if_contains("files"); answered != nullptr && answered->is_array()) {
    for (const auto& entry : answered->as_array()) {
      if (entry.is_object()) modes[string_field(entry.as_object(), "path")] = string_field(entry.as_object(), "uploadMode");
    }
  }
  for (auto& file : files) {
    const auto mode = modes.find(file.file.path_in_repo);
    file.lfs = always_lfs(file.file.path_in_repo) || (mode != modes.end() && mode->second == "lfs");
  }

  // 3. LFS objects: the batch says where each goes (or that the Hub has it already).
  boost::json::array objects;
  std::map<std::string, const PreparedFile*> by_oid;
  for (const auto& file : files) {
    if (!file.lfs || by_oid.contains(file.sha256)) continue;
    by_oid[file.sha256] = &file;
    objects.push_back(boost::json::object{{"oid", file.sha256}, {"size", file.content.size()}});
  }
  if (!objects.empty()) {
    const HttpResponse batch = client_.fetch(
        {.method = "POST",
         .url = options_.endpoint + "/" + request.repo_id + ".git/info/lfs/objects/batch",
         .headers = {"Accept: application/vnd.git-lfs+json", "Content-Type: application/vnd.git-lfs+json"},
         .body = json_text(boost::json::object{{"operation", "upload"},
                                               {"transfers", boost::json::array{"basic"}},
                                               {"objects", objects},
                                               {"hash_algo", "sha256"},
                                               {"ref", boost::json::object{{"name", revision}}}}),
         .timeout_s = options_.download_timeout_s},
        options_.max_retries);
    if (batch.status != 200) throw_upload_error(batch, request.repo_id, "the LFS batch request");
    const auto answer = parse_object(batch, "the LFS batch request");
    const auto* answered = answer.if_contains("objects");
    if (answered == nullptr || !answered->is_array()) {
      throw HubError("cannot upload to '" + request.repo_id + "': the LFS batch answer has no 'objects' (" + batch.url +
                     "); check HF_ENDPOINT");
    }
    for (const auto& entry : answered->as_array()) {
      if (!entry.is_object()) continue;
      const auto& object = entry.as_object();
      const std::string oid = string_field(object, "oid");
      const auto found = by_oid.find(oid);
      if (found == by_oid.end()) continue;
      const PreparedFile& file = *found->second;
      if (const auto* error = object.if_contains("error"); error != nullptr && error->is_object()) {
        throw HubError("cannot upload '" + file.file.path_in_repo + "' to '" + request.repo_id +
                       "': the LFS server refused it: " + string_field(error->as_object(), "message"));
      }
      const auto* actions = object.if_contains("actions");
      const auto* upload = actions != nullptr && actions->is_object() ? actions->as_object().if_contains("upload") : nullptr;
      if (upload == nullptr || !upload->is_object()) {  // no upload action: the Hub already stores these bytes
        result.lfs_skipped.push_back(file.file.path_in_repo);
        continue;
      }
      auto headers_of = [](const boost::json::object& action) {
        std::vector<std::string> headers;
        if (const auto* header = action.if_contains("header"); header != nullptr && header->is_object()) {
          for (const auto& [name, value] : header->as_object()) {
            if (value.is_string()) headers.push_back(std::string(name) + ": " + std::string(value.as_string()));
          }
        }
        return headers;
      };
      const auto& upload_action = upload->as_object();
      if (auto* header = upload_action.if_contains("header");
          header != nullptr && header->is_object() && header->as_object().contains("chunk_size")) {
        throw HubError("cannot upload '" + file.file.path_in_repo + "': the LFS server asked for a multipart upload, "
                       "which this client does not speak (it asked for 'basic' only)");
      }
      std::vector<std::string> put_headers = headers_of(upload_action);
      put_headers.emplace_back("Content-Type: application/octet-stream");
      const std::string href = client_.to_endpoint(string_field(upload_action, "href"));
      spdlog::info("hf hub: uploading {} ({} bytes) through LFS", file.file.path_in_repo, file.content.size());
      const HttpResponse put = client_.fetch(
          {.method = "PUT",
           .url = href,
           .headers = put_headers,
           .body = file.content,
           .timeout_s = options_.download_timeout_s},
          options_.max_retries, /*absolute_redirects=*/false);
      if (put.status < 200 || put.status >= 300) {
        throw HubError("cannot upload '" + file.file.path_in_repo + "': the storage host answered HTTP " +
                       std::to_string(put.status) + " (" + origin_of(href) + "): " + server_words(put) +
                       "; run again (the upload link may have expired)");
      }
      if (const auto* verify = actions->as_object().if_contains("verify"); verify != nullptr && verify->is_object()) {
        std::vector<std::string> verify_headers = headers_of(verify->as_object());
        verify_headers.emplace_back("Accept: application/vnd.git-lfs+json");
        verify_headers.emplace_back("Content-Type: application/vnd.git-lfs+json");
        const HttpResponse checked = client_.fetch(
            {.method = "POST",
             .url = client_.to_endpoint(string_field(verify->as_object(), "href")),
             .headers = verify_headers,
             .body = json_text(boost::json::object{{"oid", oid}, {"size", file.content.size()}}),
             .timeout_s = options_.download_timeout_s},
            options_.max_retries);
        if (checked.status < 200 || checked.status >= 300) {
          throw HubError("cannot upload '" + file.file.path_in_repo + "': the LFS server did not confirm it (HTTP " +
                         std::to_string(checked.status) + "): " + server_words(checked) + "; run again");
        }
      }
    }
  }

  // 4. The commit.
  std::string body = json_text(boost::json::object{
      {"key", "header"},
      {"value", boost::json::object{{"summary", request.message.empty() ? std::string("Upload folder with autotimm")
                                                                         : request.message},
                                    {"description", request.description}}}});
  body += '\n';
  for (const auto& file : files) {
    if (file.lfs) {
      body += json_text(boost::json::object{{"key", "lfsFile"},
                                            {"value", boost::json::object{{"path", file.file.path_in_repo},
                                                                          {"algo", "sha256"},
                                                                          {"oid", file.sha256},
                                                                          {"size", file.content.size()}}}});
      result.lfs_files.push_back(file.file.path_in_repo);
    } else {
      body += json_text(boost::json::object{{"key", "file"},
                                            {"value", boost::json::object{{"content", http::base64_encode(file.content)},
                                                                          {"path", file.file.path_in_repo},
                                                                          {"encoding", "base64"}}}});
      result.regular_files.push_back(file.file.path_in_repo);
    }
    body += '\n';
  }
  const HttpResponse commit = client_.fetch({.method = "POST",
                                             .url = repo_api + "/commit/" + url_encode(revision),
                                             .headers = {"Content-Type: application/x-ndjson"},
                                             .body = std::move(body),
                                             .timeout_s = options_.download_timeout_s},
                                            /*retries=*/0);  // a lost answer must not make a second commit
  if (commit.status != 200 && commit.status != 201) throw_upload_error(commit, request.repo_id, "the commit");
  const auto committed = parse_object(commit, "the commit");
  result.commit_oid = string_field(committed, "commitOid");
  result.commit_url = client_.to_endpoint(string_field(committed, "commitUrl"));
  if (result.commit_oid.empty()) {
    throw HubError("the Hub accepted the commit to '" + request.repo_id + "' but named no commit (" + commit.url +
                   "); check the repo on the Hub");
  }
  return result;
}

}  // namespace autotimm::hf
