// One request per connection, then close: clients reconnect, which keeps the server free of keep-alive state.
#include "fakes/local_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <sstream>
#include <stdexcept>

namespace autotimm::testing {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
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

/// Reads until `buffer` holds at least `size` bytes; false on a closed or silent (2 s) connection.
bool read_until(int fd, std::string& buffer, std::size_t size) {
  char chunk[16384];
  while (buffer.size() < size) {
    pollfd waiting{.fd = fd, .events = POLLIN, .revents = 0};
    if (::poll(&waiting, 1, 2000) <= 0) return false;
    const ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
    if (got <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(got));
  }
  return true;
}

}  // namespace

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

std::string LocalHttpRequest::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

LocalHttpResponse LocalHttpResponse::json(int status, const boost::json::value& value) {
  LocalHttpResponse r{.status = status, .body = boost::json::serialize(value)};
  r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

LocalHttpServer::LocalHttpServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) throw std::runtime_error("local http server: socket() failed");
  const int yes = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;  // ephemeral
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("local http server: bind/listen on 127.0.0.1 failed");
  }
  socklen_t length = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

LocalHttpServer::~LocalHttpServer() {
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

std::string LocalHttpServer::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

void LocalHttpServer::inject(InjectedFailure failure) {
  std::lock_guard lock(mutex_);
  failures_.push_back(std::move(failure));
}

void LocalHttpServer::clear_failures() {
  std::lock_guard lock(mutex_);
  failures_.clear();
}

std::vector<LocalHttpRequest> LocalHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t LocalHttpServer::request_count() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

void LocalHttpServer::clear_requests() {
  std::lock_guard lock(mutex_);
  requests_.clear();
}

void LocalHttpServer::accept_loop() {
  while (!stopping_) {
    pollfd waiting{.fd = listen_fd_, .events = POLLIN, .revents = 0};
    if (::poll(&waiting, 1, 50) <= 0) continue;  // wake up regularly to notice stopping_
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    workers_.emplace_back([this, fd] { handle_connection(fd); });
  }
}

void LocalHttpServer::handle_connection(int fd) {
  std::string data;
  while (data.find("\r\n\r\n") == std::string::npos && data.size() < 65536) {
    if (!read_until(fd, data, data.size() + 1)) break;
  }
  const auto head_end = data.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    ::close(fd);
    return;
  }
  LocalHttpRequest request;
  std::istringstream lines(data.substr(0, head_end + 2));
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
    request.headers[name] = value;
  }
  request.authorization = request.header("authorization");
  request.range = request.header("range");
  request.host = request.header("host");
  const auto question = request.target.find('?');
  request.path = percent_decode(request.target.substr(0, question));
  request.query = question == std::string::npos ? "" : request.target.substr(question + 1);
  const std::size_t length = request.headers.contains("content-length")
                                 ? std::stoul(request.headers["content-length"]) : 0;
  if (!read_until(fd, data, head_end + 4 + length)) {
    ::close(fd);
    return;
  }
  request.body = data.substr(head_end + 4, length);
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }
  LocalHttpResponse response = answer(request);
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

LocalHttpResponse LocalHttpServer::answer(const LocalHttpRequest& request) {
  std::optional<std::size_t> truncate_to;
  int stall_ms = 0;
  {
    std::lock_guard lock(mutex_);
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
      if (request.target.find(it->path_part) == std::string::npos) continue;
      if (!it->method.empty() && it->method != request.method) continue;
      InjectedFailure failure = *it;
      if (--it->times <= 0) failures_.erase(it);
      if (failure.truncate_to || failure.stall_ms > 0) {
        truncate_to = failure.truncate_to;
        stall_ms = failure.stall_ms;
        break;
      }
      LocalHttpResponse r{.status = failure.status, .body = failure.body};
      for (const auto& header : failure.headers) r.headers.push_back(header);
      return r;
    }
  }
  for (int waited = 0; waited < stall_ms && !stopping_; waited += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  LocalHttpResponse response;
  try {
    response = handler_(request);
  } catch (const std::exception& error) {  // a request the fake cannot parse must not take the test process down
    response =
        LocalHttpResponse::json(400, boost::json::object{{"error", std::string("bad request: ") + error.what()}});
  }
  if (truncate_to) response.truncate_to = truncate_to;
  return response;
}

}  // namespace autotimm::testing
