// The batch-size search and the process memory readings it uses on the CPU.
#include "autotimm/tuner/batch_size_finder.hpp"

#include <malloc.h>

#include <fstream>
#include <sstream>

#include "autotimm/error.hpp"

namespace autotimm {

BatchSizeFinderResult search_batch_size(const BatchSizeFinderOptions& options, std::int64_t max_batch_size,
                                        const std::function<BatchSizeTrial(std::int64_t)>& trial) {
  if (options.mode != "power" && options.mode != "binsearch") {
    throw ConfigError("scale_batch_size: 'mode' must be power or binsearch, got '" + options.mode + "'");
  }
  if (options.init_val < 1) throw ConfigError("scale_batch_size: 'init_val' must be >= 1");
  if (options.max_trials < 1) throw ConfigError("scale_batch_size: 'max_trials' must be >= 1");
  BatchSizeFinderResult result;
  std::int64_t size = options.init_val, low = 0, high = 0;  // high 0: no failure yet
  for (int i = 0; i < options.max_trials; ++i) {
    auto outcome = trial(size);
    outcome.batch_size = size;
    result.trials.push_back(outcome);
    if (outcome.fits) {
      result.batch_size = std::max(result.batch_size, size);
      low = size;
      if (size >= max_batch_size) break;  // a batch already holds every training sample
      if (high != 0 && options.mode == "power") break;  // came down from a failure: the largest that fits
      if (high == 0) {
        size = std::min(size * 2, max_batch_size);
      } else {
        if (high - low <= 1) break;
        size = (low + high) / 2;
      }
    } else if (low == 0) {
      high = size;  // nothing fits yet: halve until something does
      size /= 2;
      if (size == 0) break;
    } else {
      high = size;
      if (options.mode == "power") break;
      size = (low + high) / 2;
      if (size == low) break;
    }
  }
  return result;
}

namespace {

std::optional<std::int64_t> read_integer_file(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return std::nullopt;
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// A "Name:   1234 kB" line of a /proc file, in bytes.
std::optional<std::int64_t> proc_kib(const char* path, const std::string& name) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(name + ":")) continue;
    std::istringstream fields(line.substr(name.size() + 1));
    std::int64_t kib = 0;
    if (fields >> kib) return kib * 1024;
  }
  return std::nullopt;
}

}  // namespace

std::int64_t available_memory_bytes() {
  const auto total = proc_kib("/proc/meminfo", "MemTotal").value_or(0);
  // cgroup v2, then v1; an unlimited group reports "max" or a huge number.
  for (const char* path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    if (const auto limit = read_integer_file(path); limit && *limit > 0 && (total == 0 || *limit < total)) return *limit;
  }
  if (total == 0) throw IoError("cannot read the machine's memory from /proc/meminfo");
  return total;
}

void reset_peak_memory() {
  // Freed heap goes back to the system first (the runtime keeps it otherwise), so the peak starts from what is live.
  ::malloc_trim(0);
  // Writing 5 to clear_refs resets VmHWM (Linux 4.0+).
  std::ofstream("/proc/self/clear_refs") << "5";
}

std::int64_t peak_memory_bytes() {
  const auto peak = proc_kib("/proc/self/status", "VmHWM");
  if (!peak) throw IoError("cannot read this process's peak memory (VmHWM) from /proc/self/status");
  return *peak;
}

}  // namespace autotimm
