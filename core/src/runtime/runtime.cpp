#include "autotimm/runtime.hpp"

#include <dlfcn.h>
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

/// OpenBLAS builds that predate a CPU do not recognise it and fall back to their generic Prescott (SSE3) kernels.
/// Debian 12's 0.3.21 does so on recent Xeons, and there its single-precision GEMM gave convolution weight gradients
/// off by about 1% (ResNet-50 against timm's golden values); with the Haswell kernels they match to the bit. The
/// kernel set is chosen when the library loads, so only the environment of the next process can change it.
void warn_about_generic_blas_kernels() {
  if (const auto kernels = blas_kernels_replacement(); !kernels.empty()) {
    spdlog::warn("OpenBLAS did not recognise this CPU and runs its generic Prescott kernels, whose float GEMM loses "
                 "accuracy in training (gradients off by ~1%); set OPENBLAS_CORETYPE={} in the environment before "
                 "starting the program",
                 kernels);
  }
}

}  // namespace

std::string blas_kernels() {
  using CoreName = const char* (*)();
  const auto corename = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const char* name = corename != nullptr ? corename() : nullptr;
  return name != nullptr ? name : "";
}

std::string blas_kernels_replacement() {
  const std::string kernels = blas_kernels();
  if (kernels != "Prescott" && kernels != "prescott") return "";
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return "";  // the user chose, even if it is Prescott
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return "";
}

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
    settings.blas_core = blas_kernels();
    warn_about_generic_blas_kernels();
    spdlog::debug("runtime: {} threads, malloc tuned for reuse: {}, BLAS kernels '{}'", settings.threads,
                  settings.malloc_tuned, settings.blas_core);
  });
  return settings;
}

}  // namespace autotimm
