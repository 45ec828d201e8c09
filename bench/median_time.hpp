#pragma once
// The timing every benchmark here uses: `warmup` untimed runs of a step, then the median of `runs` timed ones.
#include <algorithm>
#include <chrono>
#include <vector>

namespace autotimm::bench {

template <class Step>
double median_seconds(int warmup, int runs, Step&& step) {
  for (int i = 0; i < warmup; ++i) step();
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    step();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace autotimm::bench
