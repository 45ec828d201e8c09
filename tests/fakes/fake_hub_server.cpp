// The fake Hub: the Hub API answered from memory; sockets, recording and injected failures are LocalHttpServer's.
#include "fakes/fake_hub_server.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace autotimm::testing {

namespace {

std::string hex_of(const unsigned char* digest, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[digest[i] >> 4];
    out += kDigits[digest[i] & 0xF];
  }
  return out;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

std::string fake_hub_sha256(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 failed");
  }
  return hex_of(digest, length);
}

FakeHubServer::Response FakeHubServer::error(int status, const std::string& code, const std::string& message) {
  Response r = Response::json(status, boost::json::object{{"error", message}});
  if (!code.empty()) r.headers.emplace_back("X-Error-Code", code);
  r.headers.emplace_back("X-Error-Message", message);
  return r;
}

FakeHubServer::FakeHubServer() : server_([this](const FakeHubRequest& request) { return answer(request); }) {}

FakeHubServer::~FakeHubServer() = default;

std::string FakeHubServer::endpoint() const { return server_.endpoint(); }

void FakeHubServer::add_repo(const std::string& repo_id, FakeHubRepo repo) {
  if (repo.commit.empty()) repo.commit = fake_hub_sha256(repo_id).substr(0, 40);
  std::lock_guard lock(mutex_);
  for (const auto& [name, content] : repo.files) blobs_by_sha256_[fake_hub_sha256(content)] = content;
  repos_[repo_id] = std::move(repo);
}

void FakeHubServer::add_repo_from_folder(const std::string& repo_id, const std::filesystem::path& folder) {
  FakeHubRepo repo;
  repo.tags = {"timm", "safetensors", "image-classification"};
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    repo.files[entry.path().filename().string()] = std::string(std::istreambuf_iterator<char>(in), {});
  }
  add_repo(repo_id, std::move(repo));
}

void FakeHubServer::add_rename(const std::string& old_id, const std::string& new_id) {
  std::lock_guard lock(mutex_);
  renames_[old_id] = new_id;
}

void FakeHubServer::set_accepted_token(std::string token) {
  std::lock_guard lock(mutex_);
  accepted_token_ = std::move(token);
}

void FakeHubServer::set_search_page_size(std::size_t size) {
  std::lock_guard lock(mutex_);
  page_size_ = std::max<std::size_t>(size, 1);
}

void FakeHubServer::inject(FakeHubFailure failure) { server_.inject(std::move(failure)); }

std::optional<FakeHubRepo> FakeHubServer::repo(const std::string& repo_id) const {
  std::lock_guard lock(mutex_);
  const auto found = repos_.find(repo_id);
  if (found == repos_.end()) return std::nullopt;
  return found->second;
}

bool FakeHubServer::has_lfs_object(const std::string& sha256) const {
  std::lock_guard lock(mutex_);
  return lfs_uploaded_.contains(sha256);
}

std::vector<FakeHubRequest> FakeHubServer::requests() const { return server_.requests(); }

std::size_t FakeHubServer::request_count() const { return server_.request_count(); }

void FakeHubServer::clear_requests() { server_.clear_requests(); }

FakeHubServer::Response FakeHubServer::answer(const FakeHubRequest& request) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  const std::string query =
      request.target.find('?') == std::string::npos ? "" : request.target.substr(request.target.find('?') + 1);
  if (Response written = answer_write(request); written.status != 0) return written;
  Response response;
  if (path == "/api/models") {
    response = answer_search(query);
  } else if (path.starts_with("/api/models/")) {
    response = answer_info(path.substr(std::string("/api/models/").size()));
  } else if (path.starts_with("/cdn/")) {
    response = answer_cdn(request, path.substr(5));
  } else {
    response = answer_resolve(request, path);
  }
  return response;
}

FakeHubServer::Response FakeHubServer::answer_search(const std::string& query) {
  const auto params = parse_query(query);
  auto value_of = [&](const std::string& key) {
    const auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  };
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, const FakeHubRepo*>> matches;
  for (const auto& [id, repo] : repos_) {
    const std::string search = value_of("search");
    if (!search.empty() && lower(id).find(lower(search)) == std::string::npos) continue;
    const std::string author = value_of("author");
    if (!author.empty() && !id.starts_with(author + "/")) continue;
    bool has_tags = true;
    for (auto [it, end] = params.equal_range("filter"); it != end; ++it) {
      if (std::find(repo.tags.begin(), repo.tags.end(), it->second) == repo.tags.end()) has_tags = false;
    }
    if (has_tags) matches.emplace_back(id, &repo);
  }
  if (value_of("sort") == "downloads") {
    std::stable_sort(matches.begin(), matches.end(),
                     [](const auto& a, const auto& b) { return a.second->downloads > b.second->downloads; });
  } else if (value_of("sort") == "likes") {
    std::stable_sort(matches.begin(), matches.end(),
                     [](const auto& a, const auto& b) { return a.second->likes > b.second->likes; });
  }
  const std::size_t cursor = value_of("cursor").empty() ? 0 : std::stoul(value_of("cursor"));
  boost::json::array page;
  for (std::size_t i = cursor; i < matches.size() && i < cursor + page_size_; ++i) {
    const auto& [id, repo] = matches[i];
    boost::json::array tags;
    for (const auto& tag : repo->tags) tags.emplace_back(tag);
    page.emplace_back(boost::json::object{{"_id", "0123456789abcdef01234567"},
                                          {"id", id},
                                          {"modelId", id},
                                          {"downloads", repo->downloads},
                                          {"likes", repo->likes},
                                          {"tags", tags},
                                          {"pipeline_tag", repo->pipeline_tag},
                                          {"library_name", "timm"},
                                          {"createdAt", "2026-01-01T00:00:00.000Z"},
                                          {"lastModified", "2026-02-01T00:00:00.000Z"},
                                          {"private", false}});
  }
  Response response = Response::json(200, page);
  if (cursor + page_size_ < matches.size()) {
    // The next page's URL carries every parameter, as the Hub's does.
    std::string next = endpoint() + "/api/models?";
    for (const auto& [key, value] : params) {
      if (key != "cursor") next += key + "=" + value + "&";
    }
    next += "cursor=" + std::to_string(cursor + page_size_);
    response.headers.emplace_back("Link", "<" + next + ">; rel=\"next\"");
  }
  return response;
}

namespace {

// The Hub parses a README's YAML front matter into `cardData`; the fake understands the subset model cards use:
// `key: value` and `key:` followed by `- item` lines.
boost::json::object card_data_of(const std::string& readme) {
  boost::json::object card;
  if (!readme.starts_with("---\n")) return card;
  std::istringstream lines(readme.substr(4));
  std::string line, list_key;
  while (std::getline(lines, line) && line != "---") {
    if (line.starts_with("- ") && !list_key.empty()) {
      card[list_key].as_array().emplace_back(line.substr(2));
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    list_key.clear();
    if (value.empty()) {
      card[key] = boost::json::array();
      list_key = key;
    } else {
      card[key] = value;
    }
  }
  return card;
}

}  // namespace

FakeHubServer::Response FakeHubServer::answer_info(const std::string& rest) {
  std::string repo_id = rest;
  std::string revision = "main";
  if (const auto at = rest.find("/revision/"); at != std::string::npos) {
    repo_id = rest.substr(0, at);
    revision = percent_decode(rest.substr(at + 10));
  }
  std::lock_guard lock(mutex_);
  const auto repo = repos_.find(repo_id);
  if (repo == repos_.end()) return error(404, "RepoNotFound", "Repository not found");
  if (revision != "main" && revision != repo->second.commit) {
    return error(404, "RevisionNotFound", "Invalid rev id: " + revision);
  }
  boost::json::array siblings;
  for (const auto& [name, content] : repo->second.files)
    siblings.emplace_back(boost::json::object{{"rfilename", name}});
  for (const auto& name : repo->second.extra_siblings) siblings.emplace_back(boost::json::object{{"rfilename", name}});
  boost::json::array tags;
  for (const auto& tag : repo->second.tags) tags.emplace_back(tag);
  boost::json::object info{{"id", repo_id},
                               {"modelId", repo_id},
                               {"sha", repo->second.commit},
                               {"downloads", repo->second.downloads},
                               {"likes", repo->second.likes},
                               {"tags", tags},
                               {"pipeline_tag", repo->second.pipeline_tag},
                               {"lastModified", "2026-02-01T00:00:00.000Z"},
                               {"gated", repo->second.gated ? boost::json::value("manual") : boost::json::value(false)},
                               {"siblings", siblings}};
  if (const auto slash = repo_id.find('/'); slash != std::string::npos) info["author"] = repo_id.substr(0, slash);
  if (const auto readme = repo->second.files.find("README.md"); readme != repo->second.files.end()) {
    info["cardData"] = card_data_of(readme->second);
  }
  return Response::json(200, info);
}

FakeHubServer::Response FakeHubServer::answer_resolve(const FakeHubRequest& request, const std::string& path) {
  // /{org}/{name}/resolve/{revision}/{file...}
  const auto marker = path.find("/resolve/");
  if (marker == std::string::npos || path.size() < 2) return error(404, "", "Not found");
  const std::string repo_id = path.substr(1, marker - 1);
  const std::string after = path.substr(marker + 9);
  const auto slash = after.find('/');
  if (slash == std::string::npos) return error(404, "", "Not found");
  const std::string revision = percent_decode(after.substr(0, slash));
  const std::string file = percent_decode(after.substr(slash + 1));
  std::lock_guard lock(mutex_);
  if (const auto renamed = renames_.find(repo_id); renamed != renames_.end()) {
    Response r{.status = 307};
    r.headers.emplace_back("Location", "/" + renamed->second + "/resolve/" + after);
    return r;
  }
  const auto repo = repos_.find(repo_id);
  if (repo == repos_.end()) return error(401, "RepoNotFound", "Repository not found");
  if (repo->second.gated && request.authorization != "Bearer " + accepted_token_) {
    return error(401, "GatedRepo", "Access to model " + repo_id + " is restricted.");
  }
  if (revision != "main" && revision != repo->second.commit) {
    return error(404, "RevisionNotFound", "Invalid rev id: " + revision);
  }
  const auto found = repo->second.files.find(file);
  if (found == repo->second.files.end()) {
    Response r = error(404, "EntryNotFound", file + " does not exist on \"" + revision + "\"");
    r.headers.emplace_back("X-Repo-Commit", repo->second.commit);
    return r;
  }
  const std::string& content = found->second;
  const std::string sha256 = fake_hub_sha256(content);
  Response r;
  r.headers.emplace_back("X-Repo-Commit", repo->second.commit);
  if (content.size() > kLfsThreshold) {
    // LFS: the Hub redirects to its CDN, on another host, and names the blob in X-Linked-Etag.
    r.status = 302;
    r.headers.emplace_back("X-Linked-Etag", "\"" + sha256 + "\"");
    r.headers.emplace_back("X-Linked-Size", std::to_string(content.size()));
    r.headers.emplace_back("ETag", "\"" + sha256.substr(0, 40) + "\"");
    r.headers.emplace_back("Location", "http://localhost:" + std::to_string(port()) + "/cdn/" + sha256);
    return r;
  }
  r.headers.emplace_back("ETag", "\"" + sha256.substr(0, 40) + "\"");  // stands in for the git blob sha1
  r.body = content;
  return r;
}

FakeHubServer::Response FakeHubServer::answer_cdn(const FakeHubRequest& request, const std::string& sha) {
  std::lock_guard lock(mutex_);
  const auto blob = blobs_by_sha256_.find(sha);
  if (blob == blobs_by_sha256_.end()) return error(404, "", "no such blob");
  const std::string& content = blob->second;
  Response r;
  r.headers.emplace_back("ETag", "\"" + sha + "\"");
  if (request.range.starts_with("bytes=")) {
    const std::string spec = request.range.substr(6);
    const auto dash = spec.find('-');
    const std::size_t start = std::stoul(spec.substr(0, dash));
    std::size_t end = content.size() - 1;
    if (dash + 1 < spec.size()) end = std::min(end, std::stoul(spec.substr(dash + 1)));
    if (start >= content.size()) {
      r.status = 416;
      r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(content.size()));
      return r;
    }
    r.status = 206;
    r.headers.emplace_back("Content-Range", "bytes " + std::to_string(start) + "-" + std::to_string(end) + "/" +
                                                std::to_string(content.size()));
    r.body = content.substr(start, end - start + 1);
    return r;
  }
  r.body = content;
  return r;
}

// ---- the commit API ----

namespace {

std::string base64_decode(const std::string& text) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    if (c == '=') break;
    const auto index = kAlphabet.find(c);
    if (index == std::string_view::npos) throw std::runtime_error("invalid base64 character");
    buffer = (buffer << 6) | static_cast<std::uint32_t>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

bool is_sha256_hex(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string string_of(const boost::json::object& object, const char* key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

// What the Hub keeps in LFS: weights by extension (its default .gitattributes), big files, binary samples.
bool goes_to_lfs(const std::string& path, std::int64_t size, const std::string& sample) {
  for (const char* extension : {".safetensors", ".bin", ".pth", ".pt", ".ckpt", ".onnx"}) {
    if (path.ends_with(extension)) return true;
  }
  return size > 10 * 1024 * 1024 || sample.find('\0') != std::string::npos;
}

}  // namespace

std::optional<FakeHubServer::Response> FakeHubServer::refuse_unauthorized(const FakeHubRequest& request) const {
  if (request.authorization == "Bearer " + accepted_token_) return std::nullopt;
  if (request.authorization.empty()) return error(401, "", "Unauthorized: a token is required to write");
  return error(401, "", "Invalid credentials in Authorization header");
}

FakeHubServer::Response FakeHubServer::answer_write(const FakeHubRequest& request) {
  const std::string& path = request.path;
  if (request.method == "POST" && path == "/api/repos/create") return answer_create(request);
  if (request.method == "PUT" && path.starts_with("/lfs-upload/")) return answer_lfs_upload(request, path.substr(12));
  if (request.method == "POST" && path == "/lfs-verify") return answer_lfs_verify(request);
  static const std::string kBatch = ".git/info/lfs/objects/batch";
  if (request.method == "POST" && path.ends_with(kBatch) && path.size() > kBatch.size() + 1) {
    return answer_lfs_batch(request, path.substr(1, path.size() - kBatch.size() - 1));
  }
  if (request.method == "POST" && path.starts_with("/api/models/")) {
    const std::string rest = path.substr(12);
    for (const char* verb : {"/preupload/", "/commit/"}) {
      const auto at = rest.find(verb);
      if (at == std::string::npos) continue;
      const std::string repo_id = rest.substr(0, at);
      const std::string revision = rest.substr(at + std::string(verb).size());
      return std::string(verb) == "/commit/" ? answer_commit(request, repo_id, revision)
                                             : answer_preupload(request, repo_id);
    }
  }
  return Response{.status = 0};  // not a write: the read routes answer
}

FakeHubServer::Response FakeHubServer::answer_create(const FakeHubRequest& request) {
  std::lock_guard lock(mutex_);
  if (auto refused = refuse_unauthorized(request)) return *refused;
  const auto body = boost::json::parse(request.body).as_object();
  const std::string name = string_of(body, "name");
  const std::string organization = string_of(body, "organization");
  if (name.empty()) return error(400, "", "'name' is required");
  const std::string repo_id = organization.empty() ? name : organization + "/" + name;
  if (repos_.contains(repo_id)) return error(409, "", "You already created this model repo");
  FakeHubRepo repo;
  repo.commit = fake_hub_sha256(repo_id).substr(0, 40);
  const auto* is_private = body.if_contains("private");
  repo.private_repo = is_private != nullptr && is_private->is_bool() && is_private->as_bool();
  repos_[repo_id] = std::move(repo);
  return Response::json(200, boost::json::object{{"url", endpoint() + "/" + repo_id}, {"name", repo_id}});
}

FakeHubServer::Response FakeHubServer::answer_preupload(const FakeHubRequest& request, const std::string& repo_id) {
  std::lock_guard lock(mutex_);
  if (auto refused = refuse_unauthorized(request)) return *refused;
  const auto repo = repos_.find(repo_id);
  if (repo == repos_.end()) return error(404, "RepoNotFound", "Repository not found");
  if (repo->second.read_only) return error(403, "", "You don't have the rights to write to " + repo_id);
  boost::json::array answered;
  const boost::json::value body = boost::json::parse(request.body);  // alive through the loop
  for (const auto& entry : body.as_object().at("files").as_array()) {
    const auto& file = entry.as_object();
    const std::string path = string_of(file, "path");
    const bool lfs = goes_to_lfs(path, file.at("size").to_number<std::int64_t>(), base64_decode(string_of(file, "sample")));
    answered.push_back(boost::json::object{{"path", path}, {"uploadMode", lfs ? "lfs" : "regular"}, {"shouldIgnore", false}});
  }
  return Response::json(200, boost::json::object{{"files", answered}});
}

FakeHubServer::Response FakeHubServer::answer_lfs_batch(const FakeHubRequest& request, const std::string& repo_id) {
  std::lock_guard lock(mutex_);
  if (auto refused = refuse_unauthorized(request)) return *refused;
  if (request.header("accept") != "application/vnd.git-lfs+json") {
    return error(406, "", "the LFS batch API needs Accept: application/vnd.git-lfs+json");
  }
  if (!repos_.contains(repo_id)) return error(404, "RepoNotFound", "Repository not found");
  const auto body = boost::json::parse(request.body).as_object();
  if (string_of(body, "operation") != "upload") return error(400, "", "only uploads are supported");
  boost::json::array objects;
  for (const auto& entry : body.at("objects").as_array()) {
    const auto& object = entry.as_object();
    const std::string oid = string_of(object, "oid");
    const auto size = object.at("size").to_number<std::int64_t>();
    boost::json::object answer{{"oid", oid}, {"size", size}};
    if (!is_sha256_hex(oid) || size < 0) {
      answer["error"] = boost::json::object{{"code", 422}, {"message", "invalid oid or size"}};
    } else if (!blobs_by_sha256_.contains(oid)) {  // the Hub already stores known bytes: no actions then
      lfs_announced_[oid] = static_cast<std::size_t>(size);
      const std::string signature = "sig-" + oid.substr(0, 8);
      answer["authenticated"] = true;
      answer["actions"] = boost::json::object{
          {"upload", boost::json::object{{"href", "http://localhost:" + std::to_string(port()) + "/lfs-upload/" + oid},
                                         {"header", boost::json::object{{"X-Upload-Signature", signature}}}}},
          {"verify", boost::json::object{{"href", endpoint() + "/lfs-verify"},
                                         {"header", boost::json::object{{"X-Upload-Signature", signature}}}}}};
    }
    objects.push_back(std::move(answer));
  }
  Response response = Response::json(200, boost::json::object{{"transfer", "basic"}, {"objects", objects}});
  response.headers.emplace_back("Content-Type", "application/vnd.git-lfs+json");
  return response;
}

FakeHubServer::Response FakeHubServer::answer_lfs_upload(const FakeHubRequest& request, const std::string& oid) {
  std::lock_guard lock(mutex_);
  // The storage host is another origin: the Hub token must never reach it.
  if (!request.authorization.empty()) return error(400, "", "credentials were sent to the storage host");
  if (request.header("x-upload-signature") != "sig-" + oid.substr(0, std::min<std::size_t>(8, oid.size()))) {
    return error(403, "", "missing or wrong upload signature (the batch action's header)");
  }
  const auto announced = lfs_announced_.find(oid);
  if (announced == lfs_announced_.end()) return error(404, "", "no batch request announced this object");
  if (request.body.size() != announced->second) {
    return error(400, "", "size mismatch: announced " + std::to_string(announced->second) + ", got " +
                              std::to_string(request.body.size()));
  }
  if (fake_hub_sha256(request.body) != oid) return error(400, "", "sha256 mismatch");
  lfs_uploaded_[oid] = request.body;
  return Response{.status = 200};
}

FakeHubServer::Response FakeHubServer::answer_lfs_verify(const FakeHubRequest& request) {
  std::lock_guard lock(mutex_);
  const auto body = boost::json::parse(request.body).as_object();
  const std::string oid = string_of(body, "oid");
  if (request.header("x-upload-signature") != "sig-" + oid.substr(0, std::min<std::size_t>(8, oid.size()))) {
    return error(403, "", "missing or wrong verify signature");
  }
  const auto uploaded = lfs_uploaded_.find(oid);
  if (uploaded == lfs_uploaded_.end() ||
      static_cast<std::int64_t>(uploaded->second.size()) != body.at("size").to_number<std::int64_t>()) {
    return error(404, "", "object not uploaded");
  }
  return Response{.status = 200};
}

FakeHubServer::Response FakeHubServer::answer_commit(const FakeHubRequest& request, const std::string& repo_id,
                                                     const std::string& revision) {
  std::lock_guard lock(mutex_);
  if (auto refused = refuse_unauthorized(request)) return *refused;
  if (!request.header("content-type").starts_with("application/x-ndjson")) {
    return error(400, "", "the commit body must be application/x-ndjson");
  }
  const auto repo = repos_.find(repo_id);
  if (repo == repos_.end()) return error(404, "RepoNotFound", "Repository not found");
  if (repo->second.read_only) return error(403, "", "You don't have the rights to write to " + repo_id);
  if (revision != "main") return error(404, "RevisionNotFound", "Invalid rev id: " + revision);
  std::map<std::string, std::string> files = repo->second.files;
  std::istringstream lines(request.body);
  std::string line;
  bool header = false;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const auto entry = boost::json::parse(line).as_object();
    const std::string key = string_of(entry, "key");
    const auto& value = entry.at("value").as_object();
    if (!header) {
      if (key != "header" || string_of(value, "summary").empty()) {
        return error(400, "", "the first line must be the header with a summary");
      }
      header = true;
      continue;
    }
    const std::string path = string_of(value, "path");
    if (key == "file") {
      if (string_of(value, "encoding") != "base64") return error(400, "", "file '" + path + "': encoding must be base64");
      files[path] = base64_decode(string_of(value, "content"));
    } else if (key == "lfsFile") {
      const std::string oid = string_of(value, "oid");
      if (string_of(value, "algo") != "sha256") return error(400, "", "lfsFile '" + path + "': algo must be sha256");
      std::string content;
      if (const auto uploaded = lfs_uploaded_.find(oid); uploaded != lfs_uploaded_.end()) {
        content = uploaded->second;
      } else if (const auto known = blobs_by_sha256_.find(oid); known != blobs_by_sha256_.end()) {
        content = known->second;
      } else {
        return error(422, "", "lfsFile '" + path + "': the LFS object " + oid + " was never uploaded");
      }
      if (const auto* size = value.if_contains("size");
          size != nullptr && size->to_number<std::int64_t>() != static_cast<std::int64_t>(content.size())) {
        return error(422, "", "lfsFile '" + path + "': size does not match the uploaded object");
      }
      files[path] = std::move(content);
    } else if (key == "deletedFile") {
      files.erase(path);
    } else {
      return error(400, "", "unknown commit line key '" + key + "'");
    }
  }
  if (!header) return error(400, "", "empty commit body");
  for (const auto& [name, content] : files) blobs_by_sha256_[fake_hub_sha256(content)] = content;
  repo->second.files = std::move(files);
  repo->second.commit = fake_hub_sha256(repo->second.commit + request.body).substr(0, 40);
  ++repo->second.commits;
  return Response::json(200, boost::json::object{{"success", true},
                                                 {"commitOid", repo->second.commit},
                                                 {"commitUrl", endpoint() + "/" + repo_id + "/commit/" + repo->second.commit},
                                                 {"hookOutput", ""}});
}

}  // namespace autotimm::testing
