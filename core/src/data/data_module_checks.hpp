#pragma once
// The checks every data module makes on what the trainer sets (its shard, the batch-size finder's batch size).
#include <cstdint>
#include <string>

#include "autotimm/error.hpp"

namespace autotimm::data {

inline void check_batch_size(std::int64_t batch_size) {
  if (batch_size < 1) throw ConfigError("batch_size must be >= 1, got " + std::to_string(batch_size));
}

inline void check_shard(int index, int count) {
  if (count < 1 || index < 0 || index >= count) {
    throw ConfigError("data shard " + std::to_string(index) + " of " + std::to_string(count) +
                      ": expected 0 <= index < count");
  }
}

}  // namespace autotimm::data
