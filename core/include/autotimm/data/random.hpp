#pragma once
// Randomness of the data pipeline. Every sample gets its own generator seeded from (seed, epoch, index), so what a
// sample looks like depends on nothing else: not the worker that prepared it, not the order, not the worker count.
// The generator (xoshiro256**, seeded through splitmix64) and the distributions are written here rather than taken
// from <random>, whose distributions differ between standard libraries: a run is reproducible anywhere.
#include <cstdint>
#include <utility>
#include <vector>

#include "autotimm/export.hpp"

namespace autotimm {

class AUTOTIMM_API SampleRng {
 public:
  explicit SampleRng(std::uint64_t seed);
  /// The generator of sample `index` in epoch `epoch` of a run seeded with `seed`.
  SampleRng(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index);

  std::uint64_t next() noexcept;
  /// Uniform in [0, 1), 53 random bits.
  double uniform() noexcept;
  /// Uniform in [low, high).
  double uniform(double low, double high) noexcept { return low + (high - low) * uniform(); }
  /// Uniform integer in [low, high] (both included), without modulo bias.
  std::int64_t integer(std::int64_t low, std::int64_t high) noexcept;
  bool bernoulli(double p) noexcept { return uniform() < p; }
  /// Standard normal scaled and shifted (Box-Muller).
  double normal(double mean = 0.0, double stddev = 1.0) noexcept;

  /// Fisher-Yates.
  template <class T>
  void shuffle(std::vector<T>& items) noexcept {
    for (std::size_t i = items.size(); i > 1; --i) {
      std::swap(items[i - 1], items[static_cast<std::size_t>(integer(0, static_cast<std::int64_t>(i) - 1))]);
    }
  }

 private:
  std::uint64_t state_[4];
};

}  // namespace autotimm
