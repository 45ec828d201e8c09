#pragma once
// Starting the processes of a distributed run on this host, as torchrun does: each gets RANK, LOCAL_RANK,
// WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT, and a share of the cores (OMP_NUM_THREADS) unless the
// caller set one. When one process fails the others are stopped, so a run never hangs on a dead peer. This is what
// `autotimm launch` runs.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autotimm/export.hpp"

namespace autotimm {

struct LaunchOptions {
  int nproc_per_node = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  std::optional<std::uint16_t> master_port = {};  ///< none: a free port (single node only)
  std::vector<std::string> command;               ///< the program and its arguments, run once per local rank
  std::chrono::milliseconds stop_grace{5000};     ///< SIGTERM to SIGKILL when stopping the others
};

/// Runs the local ranks of `options` and waits for them; Ctrl-C and SIGTERM are passed on to them. Returns 0 when
/// every one succeeded, else the exit code of the first that failed (128 + signal for a killed one). ConfigError for
/// inconsistent options.
AUTOTIMM_API int launch(const LaunchOptions& options);

}  // namespace autotimm
