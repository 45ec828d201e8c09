#pragma once
// The process group of a distributed run: c10d's TCPStore rendezvous at MASTER_ADDR:MASTER_PORT and a Gloo process
// group over it (CPU tensors). One per process, created by the first trainer that needs it and kept until exit, so
// several trainers (fit, then test) in one program share it. Every collective waits at most `timeout`: a rank that
// died or hangs makes the others throw TrainingError instead of waiting forever.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <c10/util/intrusive_ptr.h>

#include "autotimm/distributed/collective.hpp"
#include "environment.hpp"

namespace c10d {
class ProcessGroup;
class Store;
}  // namespace c10d

namespace autotimm::distributed {

class ProcessGroup final : public Collective {
 public:
  /// This process's group, joined on the first call (blocks until every rank has arrived or `timeout` passed).
  /// Later calls return the same group; ConfigError when they name another world.
  static ProcessGroup& join(const Environment& env, std::chrono::milliseconds timeout);
  /// The group joined by this process, or null.
  static ProcessGroup* current();
  /// A group of its own, not the process's (ranks as threads of one process, in tests). Blocks like join.
  ProcessGroup(const Environment& env, std::chrono::milliseconds timeout);
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const override { return env_.rank; }
  int world_size() const override { return env_.world_size; }
  const Environment& environment() const { return env_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override;
  torch::Tensor all_gather_rows(const torch::Tensor& rows) override;
  /// Overwrites every tensor with rank `root`'s values (one message per dtype).
  void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0);
  /// Waits for every rank; `what` names the point in errors.
  void barrier(const std::string& what);
  /// True on every rank when `flag` is true on any.
  bool any(bool flag);
  /// Rank 0's `value` on every rank (through the store), for names such as the run folder.
  std::string share(const std::string& value);

  /// The c10d group, for the gradient reducer.
  c10d::ProcessGroup& backend() { return *group_; }
  /// Runs `collective`; a failure becomes a TrainingError that says which rank, which operation and what to check.
  template <class Fn>
  auto guarded(const std::string& what, Fn&& collective) -> decltype(collective());

  ~ProcessGroup() override;

 private:
  [[noreturn]] void fail(const std::string& what, const std::exception& error) const;

  Environment env_;
  std::chrono::milliseconds timeout_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  std::uint64_t shared_count_ = 0;
};

template <class Fn>
auto ProcessGroup::guarded(const std::string& what, Fn&& collective) -> decltype(collective()) {
  try {
    return collective();
  } catch (const std::exception& e) {
    fail(what, e);
  }
}

}  // namespace autotimm::distributed
