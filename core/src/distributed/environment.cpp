// Reading RANK, WORLD_SIZE, … and finding the addresses a rendezvous needs.
#include "environment.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "autotimm/error.hpp"

namespace autotimm::distributed {

namespace {

std::optional<long> integer_variable(const char* name, long min, long max) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
    throw ConfigError(std::string(name) + "='" + text + "' is not an integer in [" + std::to_string(min) + ", " +
                      std::to_string(max) + "]; unset it or give a valid value");
  }
  return value;
}

/// Closes a socket when it goes out of scope.
struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::optional<Environment> Environment::from_env() {
  constexpr long kMaxRanks = 1 << 20;
  const auto rank = integer_variable("RANK", 0, kMaxRanks);
  if (!rank) return std::nullopt;
  Environment env;
  const auto world = integer_variable("WORLD_SIZE", 1, kMaxRanks);
  if (!world) throw ConfigError("RANK is set but WORLD_SIZE is not; a rank process needs both (autotimm launch sets them)");
  if (*rank >= *world) {
    throw ConfigError("RANK=" + std::to_string(*rank) + " is not below WORLD_SIZE=" + std::to_string(*world));
  }
  env.rank = static_cast<int>(*rank);
  env.world_size = static_cast<int>(*world);
  env.local_rank = static_cast<int>(integer_variable("LOCAL_RANK", 0, kMaxRanks).value_or(*rank));
  env.local_world_size = static_cast<int>(integer_variable("LOCAL_WORLD_SIZE", 1, kMaxRanks).value_or(*world));
  if (env.local_rank >= env.local_world_size) {
    throw ConfigError("LOCAL_RANK=" + std::to_string(env.local_rank) + " is not below LOCAL_WORLD_SIZE=" +
                      std::to_string(env.local_world_size));
  }
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') env.master_addr = addr;
  env.master_port = static_cast<std::uint16_t>(integer_variable("MASTER_PORT", 1, 65535).value_or(29500));
  return env;
}

void Environment::export_to_env() const {
  const auto put = [](const char* name, const std::string& value) { ::setenv(name, value.c_str(), 1); };
  put("RANK", std::to_string(rank));
  put("LOCAL_RANK", std::to_string(local_rank));
  put("WORLD_SIZE", std::to_string(world_size));
  put("LOCAL_WORLD_SIZE", std::to_string(local_world_size));
  put("MASTER_ADDR", master_addr);
  put("MASTER_PORT", std::to_string(master_port));
}

std::uint16_t free_port() {
  Socket s{::socket(AF_INET, SOCK_STREAM, 0)};
  if (s.fd < 0) throw IoError(std::string("free_port: socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof(addr);
  if (::bind(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    throw IoError(std::string("free_port: cannot bind a loopback port: ") + std::strerror(errno));
  }
  return ntohs(addr.sin_port);
}

std::string local_address_towards(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    throw ConfigError("MASTER_ADDR '" + host + "' does not resolve: " + ::gai_strerror(rc));
  }
  std::string out;
  for (const addrinfo* ai = found; ai != nullptr && out.empty(); ai = ai->ai_next) {
    // Connecting a UDP socket sends nothing; it only asks the kernel which local address routes to the host.
    Socket s{::socket(ai->ai_family, SOCK_DGRAM, 0)};
    if (s.fd < 0 || ::connect(s.fd, ai->ai_addr, ai->ai_addrlen) != 0) continue;
    sockaddr_storage local{};
    socklen_t length = sizeof(local);
    if (::getsockname(s.fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const void* bytes = local.ss_family == AF_INET
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr);
    if (::inet_ntop(local.ss_family, bytes, text, sizeof(text)) != nullptr) out = text;
  }
  ::freeaddrinfo(found);
  if (out.empty()) throw ConfigError("no local network route to MASTER_ADDR '" + host + "'");
  return out;
}

}  // namespace autotimm::distributed
