#include "autotimm/runtime.hpp"

#include <malloc.h>
#include <sched.h>

#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>

namespace autotimm {

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return count;
  }
  return 1;
}

namespace {

int requested_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long value = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && value > 0) return static_cast<int>(value);
    spdlog::warn("OMP_NUM_THREADS='{}' is not a positive integer; using every available core", env);
  }
  return available_cores();
}

bool user_controls_malloc() {
  if (const char* keep = std::getenv("AUTOTIMM_KEEP_MALLOC"); keep && std::strcmp(keep, "1") == 0) return true;
  for (const char* name : {"MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES"}) {
    if (std::getenv(name)) return true;
  }
  return false;
}

}  // namespace

RuntimeSettings configure_runtime() {
  static RuntimeSettings settings;
  static std::once_flag once;
  std::call_once(once, [] {
    settings.threads = requested_threads();
    at::set_num_threads(settings.threads);
    if (!user_controls_malloc()) {
      // Serve every size from the heap and never hand it back: tensors of the same shapes are freed and allocated
      // every step, and reusing the pages avoids hundreds of thousands of page faults per step.
      const bool mmap_off = mallopt(M_MMAP_MAX, 0) == 1;
      const bool no_trim = mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max()) == 1;
      settings.malloc_tuned = mmap_off && no_trim;
    }
    spdlog::debug("runtime: {} threads, malloc tuned for reuse: {}", settings.threads, settings.malloc_tuned);
  });
  return settings;
}

}  // namespace autotimm
