#include "autotimm/data/random.hpp"

#include <cmath>
#include <numbers>

namespace autotimm {

namespace {

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

}  // namespace

SampleRng::SampleRng(std::uint64_t seed) {
  std::uint64_t mix = seed;
  for (auto& word : state_) word = splitmix64(mix);
}

// Each coordinate goes through splitmix64 before the next is folded in, so (seed, epoch, index) and
// (seed, index, epoch) give unrelated streams.
SampleRng::SampleRng(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
  std::uint64_t mix = seed;
  mix = splitmix64(mix) ^ epoch;
  mix = splitmix64(mix) ^ index;
  for (auto& word : state_) word = splitmix64(mix);
}

std::uint64_t SampleRng::next() noexcept {  // xoshiro256**
  const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

double SampleRng::uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

std::int64_t SampleRng::integer(std::int64_t low, std::int64_t high) noexcept {
  if (high <= low) return low;
  const std::uint64_t range = static_cast<std::uint64_t>(high - low) + 1;
  if (range == 0) return static_cast<std::int64_t>(next());  // the full 64-bit range
  // Lemire's rejection: draws below the threshold would make small values likelier.
  const std::uint64_t threshold = -range % range;
  for (;;) {
    const unsigned __int128 product = static_cast<unsigned __int128>(next()) * range;
    if (static_cast<std::uint64_t>(product) >= threshold) {
      return low + static_cast<std::int64_t>(product >> 64);
    }
  }
}

double SampleRng::normal(double mean, double stddev) noexcept {
  const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
  const double u2 = uniform();
  return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace autotimm
