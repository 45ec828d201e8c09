#pragma once
// Where this process stands in a distributed run, read from the variables torchrun (and `autotimm launch`) set.
#include <cstdint>
#include <optional>
#include <string>

namespace autotimm::distributed {

struct Environment {
  int rank = 0;              ///< RANK: this process among all
  int local_rank = 0;        ///< LOCAL_RANK: this process on its host (the CUDA device it uses)
  int world_size = 1;        ///< WORLD_SIZE
  int local_world_size = 1;  ///< LOCAL_WORLD_SIZE (defaults to WORLD_SIZE)
  std::string master_addr = "127.0.0.1";    ///< MASTER_ADDR: the host of rank 0, where the store listens
  std::uint16_t master_port = 29500;        ///< MASTER_PORT

  /// The variables of this process; nullopt when RANK is not set (not launched as a rank). ConfigError naming the
  /// variable when one is malformed or out of range.
  static std::optional<Environment> from_env();
  /// Sets these variables in this process's environment, for itself and the processes it starts.
  void export_to_env() const;
};

/// A TCP port nobody listens on at the moment (the kernel's pick), for a rendezvous on this host.
std::uint16_t free_port();

/// The local address this host uses to reach `host` (the interface a peer on that network can connect back to);
/// "127.0.0.1" for loopback names.
std::string local_address_towards(const std::string& host, std::uint16_t port);

}  // namespace autotimm::distributed
