#pragma once
// Process-wide settings AutoTimm makes once, before the first model is built (create_backbone calls it):
// - threads: every core this process may run on (sched_getaffinity), unless OMP_NUM_THREADS says otherwise;
//   Debian's libtorch otherwise starts with one;
// - memory: glibc's malloc returns large freed blocks to the OS and page-faults them back on the next step, which
//   makes a training step several times slower; large blocks are kept for reuse instead (mmap off, no trimming),
//   unless AUTOTIMM_KEEP_MALLOC=1 or the process already set MALLOC_* tunables;
// - BLAS: a warning when OpenBLAS fell back to its generic kernels on a CPU it does not know (inaccurate float GEMM
//   seen with Debian 12's 0.3.21 on recent Xeons); OPENBLAS_CORETYPE=Haswell in the environment fixes it.
#include <string>

#include "autotimm/export.hpp"

namespace autotimm {

struct RuntimeSettings {
  int threads = 0;              ///< intra-op threads in use
  bool malloc_tuned = false;    ///< whether the allocator was set up for reuse
  std::string blas_core = {};   ///< OpenBLAS's kernel set ("Haswell", "SkylakeX", ...); empty for another BLAS
};

/// The cores this process may run on (its CPU affinity), at least 1.
AUTOTIMM_API int available_cores();

/// OpenBLAS's kernel set in this process ("Haswell", "SkylakeX", "Prescott", ...); empty when another BLAS serves.
AUTOTIMM_API std::string blas_kernels();

/// The OPENBLAS_CORETYPE that would replace the generic kernels OpenBLAS fell back to on a CPU it does not know
/// ("Haswell" on an x86 CPU with AVX2 and FMA); empty when nothing needs replacing: another BLAS, a known CPU,
/// OPENBLAS_CORETYPE already set, or a CPU the replacement would not run on. Only a new process can use it.
AUTOTIMM_API std::string blas_kernels_replacement();

/// Applies the settings the first time it is called; later calls return what was applied.
AUTOTIMM_API RuntimeSettings configure_runtime();

}  // namespace autotimm
