// Process management for distributed runs: fork/exec with the rank variables, waiting, stopping the others on a
// failure, forwarding Ctrl-C.
#include "launcher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "autotimm/runtime.hpp"
#include "environment.hpp"

extern char** environ;

namespace autotimm {
namespace distributed {
namespace {

/// The current environment with `overrides` replacing or adding variables, as execve wants it.
std::vector<std::string> environment_with(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    if (!overrides.contains(entry.substr(0, entry.find('=')))) out.push_back(entry);
  }
  for (const auto& [name, value] : overrides) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

/// `program` as a path execve takes: itself when it has a slash, else the first match on PATH.
std::string resolve_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    const auto end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = (end > start ? dirs.substr(start, end - start) : ".") + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  throw ConfigError("launch: '" + program + "' is not a path and is not on PATH");
}

/// Starts `argv` with `env`; the child dies with its parent (no orphaned ranks).
pid_t start_process(const std::string& path, std::vector<std::string> argv, std::vector<std::string> env) {
  auto argv_ptrs = pointers(argv);
  auto env_ptrs = pointers(env);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw IoError(std::string("launch: fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    ::execve(path.c_str(), argv_ptrs.data(), env_ptrs.data());
    static const char kFailed[] = "autotimm launch: exec failed\n";
    [[maybe_unused]] const auto ignored = ::write(2, kFailed, sizeof(kFailed) - 1);
    ::_exit(127);
  }
  return pid;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
  return "exited with code " + std::to_string(exit_code_of(status));
}

/// Ranks started by this process, signalled from the handlers below.
std::atomic<pid_t> g_children[256];
std::atomic<int> g_child_count{0};

void forward_signal(int signal) {
  for (int i = 0; i < g_child_count.load(); ++i) {
    if (const pid_t pid = g_children[i].load(); pid > 0) ::kill(pid, signal);
  }
}

void remember_child(pid_t pid) {
  const int slot = g_child_count.fetch_add(1);
  if (slot >= static_cast<int>(std::size(g_children))) throw ConfigError("launch: at most 256 local processes");
  g_children[slot].store(pid);
}

/// Stops every remembered child still running: SIGTERM, then SIGKILL after `grace`.
void stop_children(std::chrono::milliseconds grace, const std::vector<pid_t>& running) {
  for (const pid_t pid : running) ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  std::vector<pid_t> left = running;
  while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
    std::erase_if(left, [](pid_t pid) {
      int status = 0;
      return ::waitpid(pid, &status, WNOHANG) != 0;
    });
    if (!left.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const pid_t pid : left) {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}

}  // namespace

}  // namespace distributed

int launch(const LaunchOptions& o) {
  using namespace distributed;
  if (o.command.empty()) throw ConfigError("launch: no command to run (give it after --)");
  if (o.nproc_per_node < 1) throw ConfigError("launch: --nproc-per-node must be >= 1");
  if (o.nnodes < 1) throw ConfigError("launch: --nnodes must be >= 1");
  if (o.node_rank < 0 || o.node_rank >= o.nnodes) {
    throw ConfigError("launch: --node-rank " + std::to_string(o.node_rank) + " is not in [0, " +
                      std::to_string(o.nnodes) + ")");
  }
  if (o.nnodes > 1 && !o.master_port) {
    throw ConfigError("launch: a run over several nodes needs --master-port (and --master-addr, the host of node 0) "
                      "given the same on every node");
  }
  const std::uint16_t port = o.master_port ? *o.master_port : free_port();
  const std::string path = resolve_program(o.command.front());
  std::map<std::string, std::string> common{{"WORLD_SIZE", std::to_string(o.nproc_per_node * o.nnodes)},
                                            {"LOCAL_WORLD_SIZE", std::to_string(o.nproc_per_node)},
                                            {"MASTER_ADDR", o.master_addr},
                                            {"MASTER_PORT", std::to_string(port)}};
  if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    const int threads = std::max(1, available_cores() / o.nproc_per_node);
    common["OMP_NUM_THREADS"] = std::to_string(threads);
    spdlog::info("launch: OMP_NUM_THREADS={} for each of the {} local processes (set it to choose)", threads,
                 o.nproc_per_node);
  }
  struct sigaction forward {};
  forward.sa_handler = forward_signal;
  ::sigemptyset(&forward.sa_mask);
  struct sigaction old_int {}, old_term {};
  ::sigaction(SIGINT, &forward, &old_int);
  ::sigaction(SIGTERM, &forward, &old_term);

  std::map<pid_t, int> ranks;
  for (int local = 0; local < o.nproc_per_node; ++local) {
    auto vars = common;
    vars["RANK"] = std::to_string(o.node_rank * o.nproc_per_node + local);
    vars["LOCAL_RANK"] = std::to_string(local);
    const pid_t pid = start_process(path, o.command, environment_with(vars));
    remember_child(pid);
    ranks[pid] = o.node_rank * o.nproc_per_node + local;
  }
  int result = 0;
  while (!ranks.empty()) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    const auto it = ranks.find(pid);
    if (it == ranks.end()) continue;
    const int rank = it->second;
    ranks.erase(it);
    if (exit_code_of(status) != 0 && result == 0) {
      result = exit_code_of(status);
      spdlog::error("launch: rank {} {}; stopping the other {} local process(es)", rank, describe_status(status),
                    ranks.size());
      std::vector<pid_t> running;
      for (const auto& [other, r] : ranks) running.push_back(other);
      stop_children(o.stop_grace, running);
      ranks.clear();
    }
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  return result;
}

namespace distributed {
namespace {

std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (std::size_t start = 0; start < all.size();) {
    const auto end = all.find('\0', start);
    args.push_back(all.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return args;
}

/// The copies rank 0 started, until they exit; the watcher thread reaps them. Never destroyed: the detached
/// watcher may still be polling while static objects are destroyed at exit.
struct Peers {
  std::mutex mutex;
  std::vector<std::pair<pid_t, int>> running;  // pid, rank
};
Peers& peers() {
  static auto* instance = new Peers();
  return *instance;
}

/// Reaps the copies as they finish; one that fails ends this process too, naming it, instead of leaving this rank
/// waiting for it until the timeout.
void watch_peers() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(peers().mutex);
      auto& running = peers().running;
      for (auto it = running.begin(); it != running.end();) {
        int status = 0;
        if (::waitpid(it->first, &status, WNOHANG) == 0) {
          ++it;
          continue;
        }
        if (exit_code_of(status) != 0) {
          spdlog::error("distributed: rank {} {}; stopping the run", it->second, describe_status(status));
          for (const auto& [other, rank] : running) {
            if (other != it->first) ::kill(other, SIGTERM);
          }
          std::_Exit(1);
        }
        it = running.erase(it);
      }
      if (running.empty()) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

/// At exit, rank 0 waits for the copies (they finish the same run), then stops any that hang.
void wait_for_peers() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(peers().mutex);
      auto& running = peers().running;
      if (running.empty()) return;
      if (std::chrono::steady_clock::now() >= deadline) {
        spdlog::warn("distributed: {} rank process(es) still running a minute after rank 0 finished; stopping them",
                     running.size());
        for (const auto& [pid, rank] : running) {
          ::kill(pid, SIGKILL);
          int status = 0;
          ::waitpid(pid, &status, 0);
        }
        running.clear();  // the watcher finds none left and returns
        return;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

void spawn_local_peers(int devices) {
  char exe[4096] = {};
  const auto length = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (length <= 0) throw IoError("devices > 1: cannot find this program's executable to start the other ranks");
  const auto args = own_arguments();
  if (args.empty()) throw IoError("devices > 1: cannot read this program's arguments to start the other ranks");
  Environment env;
  env.world_size = devices;
  env.local_world_size = devices;
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') env.master_addr = addr;
  const char* port = std::getenv("MASTER_PORT");
  env.master_port = port != nullptr && *port != '\0' ? static_cast<std::uint16_t>(std::atoi(port)) : free_port();
  std::map<std::string, std::string> vars{{"WORLD_SIZE", std::to_string(devices)},
                                          {"LOCAL_WORLD_SIZE", std::to_string(devices)},
                                          {"MASTER_ADDR", env.master_addr},
                                          {"MASTER_PORT", std::to_string(env.master_port)}};
  if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    vars["OMP_NUM_THREADS"] = std::to_string(std::max(1, available_cores() / devices));
  }
  {
    std::lock_guard<std::mutex> lock(peers().mutex);
    for (int rank = 1; rank < devices; ++rank) {
      vars["RANK"] = std::to_string(rank);
      vars["LOCAL_RANK"] = std::to_string(rank);
      peers().running.emplace_back(start_process(exe, args, environment_with(vars)), rank);
    }
  }
  env.export_to_env();  // this process is rank 0 from now on, for this trainer and any later one
  std::atexit(wait_for_peers);
  std::thread(watch_peers).detach();
}

}  // namespace distributed
}  // namespace autotimm
