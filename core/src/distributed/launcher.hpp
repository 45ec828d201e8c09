#pragma once
// The trainer's side of starting processes: when fit asks for several devices and no launcher started this process,
// it becomes rank 0 and starts the others itself (autotimm/distributed/launch.hpp is the launcher).
#include "autotimm/distributed/launch.hpp"

namespace autotimm::distributed {

/// Makes this process rank 0 of a run of `devices` local processes: starts ranks 1..devices-1 as copies of this
/// program (same executable, same arguments) and sets this process's rank variables. A copy that fails ends this
/// process too (with a message naming it); at exit this process waits for the copies.
void spawn_local_peers(int devices);

}  // namespace autotimm::distributed
