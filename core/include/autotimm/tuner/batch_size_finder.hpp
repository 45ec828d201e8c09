#pragma once
// The batch-size finder (Lightning's scale_batch_size): short training runs at growing batch sizes until one does
// not fit, the largest that fit kept. On CUDA "does not fit" is running out of device memory; on the CPU, where
// running out of memory means the kernel killing the process, it is the process's peak resident memory passing a
// budget (a share of the memory this process may use). The model is left as it was and the data module gets the
// batch size found.
//
//   const auto found = trainer.scale_batch_size(model, data, {.mode = "binsearch", .init_val = 16});
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "autotimm/export.hpp"

namespace autotimm {

struct BatchSizeFinderOptions {
  /// power: double until a trial fails; binsearch: then bisect between the last success and the failure.
  std::string mode = "power";
  std::int64_t init_val = 16;
  int max_trials = 25;
  int steps_per_trial = 3;  ///< training steps per trial (forward, backward, optimizer step)
  /// CPU budget: this share of the memory the process may use (its cgroup limit, else the machine's RAM).
  double max_memory_fraction = 0.8;
  std::optional<std::int64_t> max_memory_bytes = {};  ///< a budget in bytes instead of the share
};

struct BatchSizeTrial {
  std::int64_t batch_size = 0;
  bool fits = false;
  std::int64_t peak_bytes = 0;  ///< the process's peak resident memory during the trial (CPU)
  std::string reason = {};      ///< why it did not fit
};

struct BatchSizeFinderResult {
  std::int64_t batch_size = 0;  ///< the largest that fit; 0 when none did
  std::vector<BatchSizeTrial> trials = {};
};

/// The search over any trial: `power` or `binsearch` as Lightning's, stopping at max_trials or once a batch holds
/// the whole training set (`max_batch_size`).
AUTOTIMM_API BatchSizeFinderResult search_batch_size(const BatchSizeFinderOptions& options,
                                                     std::int64_t max_batch_size,
                                                     const std::function<BatchSizeTrial(std::int64_t)>& trial);

/// The memory a process here may use: the cgroup's limit when there is one, else MemTotal.
AUTOTIMM_API std::int64_t available_memory_bytes();
/// Returns freed heap memory to the system and resets this process's peak resident memory (VmHWM), so the next
/// reading covers what is live now and what follows.
AUTOTIMM_API void reset_peak_memory();
/// This process's peak resident memory since the last reset, in bytes.
AUTOTIMM_API std::int64_t peak_memory_bytes();

/// What to tune before fit (Python AutoTimm's TunerConfig): the batch size first, then the learning rate.
struct TunerConfig {
  bool auto_lr = false;
  bool auto_batch_size = false;
  struct LrFind {
    double min_lr = 1e-7;
    double max_lr = 1.0;
    int num_training = 100;
    std::string mode = "exponential";
    double early_stop_threshold = 4.0;
  } lr_find = {};
  BatchSizeFinderOptions batch_size = {};
};

}  // namespace autotimm
