#pragma once
// A real HTTP/1.1 server on 127.0.0.1 (ephemeral port) for tests, run in threads inside the test process: one thread
// accepts, one thread per connection reads one request (head and Content-Length body), asks the handler for the
// answer and closes. Every request is recorded in arrival order; failures can be injected per path: an error status,
// a dropped connection, a stall or a body cut short. The fake Hub and the fake MLflow server are handlers over it.
//
//   autotimm::testing::LocalHttpServer server([](const LocalHttpRequest& r) {
//     return LocalHttpResponse::json(200, boost::json::object{{"path", r.path}});
//   });
//   server.inject({.path_part = "/api/", .times = 2, .status = 503});
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace autotimm::testing {

struct LocalHttpRequest {
  std::string method = {};
  std::string target = {};         ///< path and query as sent
  std::string host = {};           ///< the Host header
  std::string authorization = {};  ///< empty when absent
  std::string range = {};          ///< empty when absent
  std::string path = {};           ///< target before '?', percent-decoded
  std::string query = {};          ///< target after '?', as sent
  std::map<std::string, std::string> headers = {};  ///< names in lower case
  std::string body = {};

  /// The header named `name` (lower case), or empty.
  std::string header(const std::string& name) const;
};

struct LocalHttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers = {};
  std::string body = {};
  std::optional<std::size_t> content_length = {};  ///< announced length when it differs from body (HEAD)
  std::optional<std::size_t> truncate_to = {};     ///< close after this many body bytes

  static LocalHttpResponse json(int status, const boost::json::value& value);
};

/// A failure served instead of the normal answer for the next `times` requests whose target contains `path_part`
/// (and whose method is `method`, when set). Injected failures are matched in the order they were added.
struct InjectedFailure {
  std::string path_part = {};
  int times = 1;
  std::string method = {};
  int status = 500;  ///< 0 drops the connection without an answer; ignored with truncate_to
  std::map<std::string, std::string> headers = {};
  std::string body = {};
  std::optional<std::size_t> truncate_to = {};  ///< serve the normal answer but close after this many body bytes
  int stall_ms = 0;                             ///< wait this long before answering (timeouts); then answer normally
};

class LocalHttpServer {
 public:
  using Handler = std::function<LocalHttpResponse(const LocalHttpRequest&)>;

  /// Starts listening at once. A handler that throws answers 400 with the exception's text.
  explicit LocalHttpServer(Handler handler);
  /// Stops accepting and joins every connection thread.
  ~LocalHttpServer();
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  /// "http://127.0.0.1:<port>".
  std::string endpoint() const;
  std::uint16_t port() const noexcept { return port_; }
  bool stopping() const noexcept { return stopping_; }

  void inject(InjectedFailure failure);
  /// Removes every injected failure not yet served.
  void clear_failures();

  std::vector<LocalHttpRequest> requests() const;
  std::size_t request_count() const;
  void clear_requests();

 private:
  void accept_loop();
  void handle_connection(int fd);
  LocalHttpResponse answer(const LocalHttpRequest& request);

  Handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<std::thread> workers_;
  std::vector<InjectedFailure> failures_;
  std::vector<LocalHttpRequest> requests_;
  std::thread acceptor_;  // last: starts after everything it uses exists
};

/// `%XX` and `+` decoded.
std::string percent_decode(const std::string& text);
/// `a=1&b=2` as a multimap, keys and values percent-decoded.
std::multimap<std::string, std::string> parse_query(const std::string& query);

}  // namespace autotimm::testing
