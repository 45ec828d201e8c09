// The Gloo process group behind a distributed run, and the collectives the trainer and the metrics use.
#include "process_group.hpp"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>
#include <map>
#include <mutex>

#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"

namespace autotimm {
namespace distributed {

namespace {

std::mutex g_mutex;
ProcessGroup* g_group = nullptr;  // never destroyed: Gloo's threads must not be joined during static destruction

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

/// The tensors grouped by dtype and device, each group flattened into one buffer (one message instead of many).
struct Coalesced {
  std::vector<torch::Tensor> flats;
  std::vector<std::vector<std::size_t>> members;  // indices into the tensors, per flat buffer

  explicit Coalesced(const std::vector<torch::Tensor>& tensors) {
    std::map<std::pair<int, std::string>, std::size_t> slot;
    std::vector<std::vector<torch::Tensor>> parts;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const auto key = std::make_pair(static_cast<int>(tensors[i].scalar_type()), tensors[i].device().str());
      auto [it, inserted] = slot.try_emplace(key, parts.size());
      if (inserted) {
        parts.emplace_back();
        members.emplace_back();
      }
      parts[it->second].push_back(tensors[i].detach().reshape(-1));
      members[it->second].push_back(i);
    }
    for (auto& group : parts) flats.push_back(group.size() == 1 ? group.front().clone() : torch::cat(group));
  }

  /// Writes the (reduced or received) buffers back into the tensors.
  void scatter_back(const std::vector<torch::Tensor>& tensors) const {
    torch::NoGradGuard no_grad;
    for (std::size_t g = 0; g < flats.size(); ++g) {
      std::int64_t offset = 0;
      for (const auto i : members[g]) {
        const auto& t = tensors[i];
        t.copy_(flats[g].narrow(0, offset, t.numel()).view(t.sizes()));
        offset += t.numel();
      }
    }
  }
};

}  // namespace

ProcessGroup& ProcessGroup::join(const Environment& env, std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_group != nullptr) {
    const auto& have = g_group->env_;
    if (have.rank != env.rank || have.world_size != env.world_size || have.master_addr != env.master_addr ||
        have.master_port != env.master_port) {
      throw ConfigError("this process already joined a distributed run as rank " + std::to_string(have.rank) + " of " +
                        std::to_string(have.world_size) + " at " + have.master_addr + ":" +
                        std::to_string(have.master_port) + "; one process takes part in one run");
    }
    return *g_group;
  }
  g_group = new ProcessGroup(env, timeout);
  return *g_group;
}

ProcessGroup* ProcessGroup::current() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_group;
}

ProcessGroup::ProcessGroup(const Environment& env, std::chrono::milliseconds timeout) : env_(env), timeout_(timeout) {
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  spdlog::info("distributed: rank {} of {} (local rank {}) joining at {}", env.rank, env.world_size, env.local_rank,
               where);
  try {
    c10d::TCPStoreOptions options;
    options.port = env.master_port;
    options.isServer = env.rank == 0;
    options.numWorkers = static_cast<std::size_t>(env.world_size);
    options.waitWorkers = true;
    options.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    store_ = c10::make_intrusive<c10d::PrefixStore>("autotimm/", store);
  } catch (const std::exception& e) {
    throw TrainingError("distributed: rank " + std::to_string(env.rank) + " could not meet the other " +
                        std::to_string(env.world_size - 1) + " rank(s) at " + where + " within " +
                        std::to_string(timeout.count() / 1000) + " s: " + first_line(e.what()) +
                        "; check that every rank was started with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE, "
                        "and that rank 0 can listen on that port");
  }
  try {
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    if (const char* name = std::getenv("GLOO_SOCKET_IFNAME"); name != nullptr && *name != '\0') {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
    } else {
      options->devices.push_back(
          c10d::ProcessGroupGloo::createDeviceForHostname(local_address_towards(env.master_addr, env.master_port)));
    }
    group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, env.rank, env.world_size, options);
  } catch (const std::exception& e) {
    throw TrainingError("distributed: rank " + std::to_string(env.rank) + " could not connect to the other ranks: " +
                        first_line(e.what()) + "; check the network between the hosts (GLOO_SOCKET_IFNAME names the "
                        "interface to use)");
  }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::fail(const std::string& what, const std::exception& error) const {
  throw TrainingError("distributed: " + what + " failed on rank " + std::to_string(env_.rank) + " of " +
                      std::to_string(env_.world_size) + ": " + first_line(error.what()) +
                      "; another rank stopped, died or did not answer within " +
                      std::to_string(timeout_.count() / 1000) + " s (see its log)");
}

void ProcessGroup::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  if (tensors.empty()) return;
  Coalesced buffers(tensors);
  // One collective per dtype (a Gloo call takes tensors of one type), all in flight at once.
  guarded("all-reduce", [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto& flat : buffers.flats) {
      std::vector<torch::Tensor> one{flat};
      works.push_back(group_->allreduce(one));
    }
    for (auto& work : works) work->wait();
  });
  buffers.scatter_back(tensors);
}

torch::Tensor ProcessGroup::all_gather_rows(const torch::Tensor& rows) {
  // Row counts first, then every rank's rows padded to the largest count, trimmed after the gather.
  std::vector<torch::Tensor> count{torch::full({1}, rows.size(0), torch::kInt64)};
  std::vector<std::vector<torch::Tensor>> counts(1);
  for (int r = 0; r < env_.world_size; ++r) counts[0].push_back(torch::empty({1}, torch::kInt64));
  guarded("all-gather", [&] { group_->allgather(counts, count)->wait(); });
  std::int64_t most = 0;
  for (const auto& c : counts[0]) most = std::max(most, c.item<std::int64_t>());
  auto shape = rows.sizes().vec();
  shape[0] = most;
  std::vector<torch::Tensor> padded{torch::zeros(shape, rows.options())};
  if (rows.size(0) > 0) padded[0].narrow(0, 0, rows.size(0)).copy_(rows);
  std::vector<std::vector<torch::Tensor>> gathered(1);
  for (int r = 0; r < env_.world_size; ++r) gathered[0].push_back(torch::empty(shape, rows.options()));
  guarded("all-gather", [&] { group_->allgather(gathered, padded)->wait(); });
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < env_.world_size; ++r) {
    parts.push_back(gathered[0][r].narrow(0, 0, counts[0][r].item<std::int64_t>()));
  }
  return torch::cat(parts);
}

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors, int root) {
  if (tensors.empty()) return;
  Coalesced buffers(tensors);
  c10d::BroadcastOptions options;
  options.rootRank = root;
  guarded("broadcast", [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto& flat : buffers.flats) {
      std::vector<torch::Tensor> one{flat};
      works.push_back(group_->broadcast(one, options));
    }
    for (auto& work : works) work->wait();
  });
  buffers.scatter_back(tensors);
}

void ProcessGroup::barrier(const std::string& what) {
  guarded(what, [&] { group_->barrier()->wait(); });
}

bool ProcessGroup::any(bool flag) {
  std::vector<torch::Tensor> value{torch::full({1}, flag ? 1 : 0, torch::kInt64)};
  all_reduce_sum(value);
  return value[0].item<std::int64_t>() > 0;
}

std::string ProcessGroup::share(const std::string& value) {
  const std::string key = "shared/" + std::to_string(shared_count_++);
  return guarded("sharing a value through the store", [&] {
    if (env_.rank == 0) {
      store_->set(key, std::vector<std::uint8_t>(value.begin(), value.end()));
      return value;
    }
    const auto bytes = store_->get(key);
    return std::string(bytes.begin(), bytes.end());
  });
}

}  // namespace distributed
}  // namespace autotimm
