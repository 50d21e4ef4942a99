// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit state, an add and three xor-shift-multiplies per draw.
// Fully specified integer arithmetic, so the same seed gives the same stream everywhere.
#include "cudamlp/rng.h"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "cudamlp/shuffle_key.h"

namespace cudamlp {

uint64_t Rng::next() {
  state_ += 0x9E3779B97F4A7C15ull;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

uint64_t Rng::below(uint64_t n) {
  // Reject the top partial block of 2^64 so every residue is equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t r = next();
  while (r >= limit) r = next();
  return r % n;
}

uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  // Two SplitMix64 rounds over (seed, stream) decorrelate neighbouring seeds and streams.
  Rng mix(seed ^ (stream * 0xD1B54A32D192ED03ull));
  mix.next();
  return mix.next();
}

std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, int64_t epoch) {
  const uint64_t epoch_seed = derive_seed(seed, 1 + static_cast<uint64_t>(epoch));
  std::vector<std::pair<uint64_t, int64_t>> keyed(static_cast<size_t>(n));  // (key, sample)
  for (int64_t i = 0; i < n; ++i) keyed[size_t(i)] = {splitmix64_at(epoch_seed, uint64_t(i)), i};
  std::sort(keyed.begin(), keyed.end());  // pairs: equal keys fall back to the sample index
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = keyed[size_t(i)].second;
  return order;
}

}  // namespace cudamlp
