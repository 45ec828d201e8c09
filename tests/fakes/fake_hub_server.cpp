// The fake Hub: one thread accepts, one thread per connection answers (one request per connection, then close).
#include "fakes/fake_hub_server.hpp"

#include <openssl/evp.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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

std::string percent_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

std::multimap<std::string, std::string> parse_query(const std::string& query) {
  std::multimap<std::string, std::string> params;
  std::stringstream stream(query);
  std::string pair;
  while (std::getline(stream, pair, '&')) {
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    params.emplace(percent_decode(pair.substr(0, eq)),
                   eq == std::string::npos ? "" : percent_decode(pair.substr(eq + 1)));
  }
  return params;
}

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
    if (sent <= 0) return false;
    data += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
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

struct FakeHubServer::Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers = {};
  std::string body = {};
  std::optional<std::size_t> content_length = {};  ///< announced length when it differs from body (HEAD)
  std::optional<std::size_t> truncate_to = {};

  static Response json(int status, const boost::json::value& value) {
    Response r{.status = status, .body = boost::json::serialize(value)};
    r.headers.emplace_back("Content-Type", "application/json");
    return r;
  }
  static Response error(int status, const std::string& code, const std::string& message) {
    Response r = json(status, boost::json::object{{"error", message}});
    if (!code.empty()) r.headers.emplace_back("X-Error-Code", code);
    r.headers.emplace_back("X-Error-Message", message);
    return r;
  }
};

FakeHubServer::FakeHubServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) throw std::runtime_error("fake hub: socket() failed");
  const int yes = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;  // ephemeral
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("fake hub: bind/listen on 127.0.0.1 failed");
  }
  socklen_t length = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeHubServer::~FakeHubServer() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (auto& worker : workers) worker.join();
  ::close(listen_fd_);
}

std::string FakeHubServer::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

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

void FakeHubServer::inject(FakeHubFailure failure) {
  std::lock_guard lock(mutex_);
  failures_.push_back(std::move(failure));
}

std::vector<FakeHubRequest> FakeHubServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t FakeHubServer::request_count() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

void FakeHubServer::clear_requests() {
  std::lock_guard lock(mutex_);
  requests_.clear();
}

void FakeHubServer::accept_loop() {
  while (!stopping_) {
    pollfd waiting{.fd = listen_fd_, .events = POLLIN, .revents = 0};
    if (::poll(&waiting, 1, 50) <= 0) continue;  // wake up regularly to notice stopping_
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    workers_.emplace_back([this, fd] { handle_connection(fd); });
  }
}

void FakeHubServer::handle_connection(int fd) {
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
    pollfd waiting{.fd = fd, .events = POLLIN, .revents = 0};
    if (::poll(&waiting, 1, 2000) <= 0) break;
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) break;
    head.append(buffer, static_cast<std::size_t>(got));
  }
  if (head.find("\r\n\r\n") == std::string::npos) {
    ::close(fd);
    return;
  }
  FakeHubRequest request;
  std::istringstream lines(head);
  std::string line;
  std::getline(lines, line);
  std::istringstream first(line);
  first >> request.method >> request.target;
  while (std::getline(lines, line) && line != "\r") {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string name = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (!value.empty() && value.back() == '\r') value.pop_back();
    if (name == "authorization") request.authorization = value;
    if (name == "range") request.range = value;
    if (name == "host") request.host = value;
  }
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }
  Response response;
  try {
    response = answer(request);
  } catch (const std::exception& error) {  // a request the fake cannot parse must not take the test process down
    response = Response::error(400, "", std::string("fake hub: bad request: ") + error.what());
  }
  if (response.status == 0) {  // an injected dropped connection: no answer at all
    ::close(fd);
    return;
  }
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " Fake\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  out += "Content-Length: " + std::to_string(response.content_length.value_or(response.body.size())) + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (request.method != "HEAD") {
    out += response.truncate_to ? response.body.substr(0, std::min(*response.truncate_to, response.body.size()))
                                : response.body;
  }
  send_all(fd, out.data(), out.size());
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

FakeHubServer::Response FakeHubServer::answer(const FakeHubRequest& request) {
  std::optional<std::size_t> truncate_to;
  int stall_ms = 0;
  {
    std::lock_guard lock(mutex_);
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
      if (request.target.find(it->path_part) == std::string::npos) continue;
      if (!it->method.empty() && it->method != request.method) continue;
      FakeHubFailure failure = *it;
      if (--it->times <= 0) failures_.erase(it);
      if (failure.truncate_to || failure.stall_ms > 0) {
        truncate_to = failure.truncate_to;
        stall_ms = failure.stall_ms;
        break;
      }
      Response r{.status = failure.status, .body = failure.body};
      for (const auto& header : failure.headers) r.headers.push_back(header);
      return r;
    }
  }
  for (int waited = 0; waited < stall_ms && !stopping_; waited += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string path = request.target.substr(0, request.target.find('?'));
  const std::string query =
      request.target.find('?') == std::string::npos ? "" : request.target.substr(request.target.find('?') + 1);
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
  response.truncate_to = truncate_to;
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
  if (repo == repos_.end()) return Response::error(404, "RepoNotFound", "Repository not found");
  if (revision != "main" && revision != repo->second.commit) {
    return Response::error(404, "RevisionNotFound", "Invalid rev id: " + revision);
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
  if (marker == std::string::npos || path.size() < 2) return Response::error(404, "", "Not found");
  const std::string repo_id = path.substr(1, marker - 1);
  const std::string after = path.substr(marker + 9);
  const auto slash = after.find('/');
  if (slash == std::string::npos) return Response::error(404, "", "Not found");
  const std::string revision = percent_decode(after.substr(0, slash));
  const std::string file = percent_decode(after.substr(slash + 1));
  std::lock_guard lock(mutex_);
  if (const auto renamed = renames_.find(repo_id); renamed != renames_.end()) {
    Response r{.status = 307};
    r.headers.emplace_back("Location", "/" + renamed->second + "/resolve/" + after);
    return r;
  }
  const auto repo = repos_.find(repo_id);
  if (repo == repos_.end()) return Response::error(401, "RepoNotFound", "Repository not found");
  if (repo->second.gated && request.authorization != "Bearer " + accepted_token_) {
    return Response::error(401, "GatedRepo", "Access to model " + repo_id + " is restricted.");
  }
  if (revision != "main" && revision != repo->second.commit) {
    return Response::error(404, "RevisionNotFound", "Invalid rev id: " + revision);
  }
  const auto found = repo->second.files.find(file);
  if (found == repo->second.files.end()) {
    Response r = Response::error(404, "EntryNotFound", file + " does not exist on \"" + revision + "\"");
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
    r.headers.emplace_back("Location", "http://localhost:" + std::to_string(port_) + "/cdn/" + sha256);
    return r;
  }
  r.headers.emplace_back("ETag", "\"" + sha256.substr(0, 40) + "\"");  // stands in for the git blob sha1
  r.body = content;
  return r;
}

FakeHubServer::Response FakeHubServer::answer_cdn(const FakeHubRequest& request, const std::string& sha) {
  std::lock_guard lock(mutex_);
  const auto blob = blobs_by_sha256_.find(sha);
  if (blob == blobs_by_sha256_.end()) return Response::error(404, "", "no such blob");
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

}  // namespace autotimm::testing
