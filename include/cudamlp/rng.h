// Seeded random numbers that are the same on every machine and compiler: SplitMix64 and our own
// integer and uniform draws (the standard library's distributions are implementation-defined).
#pragma once

#include <cstdint>
#include <vector>

namespace cudamlp {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();              // SplitMix64 step
  double uniform();             // [0, 1), 53 random bits
  uint64_t below(uint64_t n);   // uniform integer in [0, n), unbiased (rejection); n >= 1

 private:
  uint64_t state_;
};

// Independent streams from one user seed: weights use stream 0, epoch e's shuffle uses stream 1 + e.
uint64_t derive_seed(uint64_t seed, uint64_t stream);

// The sample order of one epoch: [0, n) sorted by the keys splitmix64_at(derive_seed(seed, 1 + epoch), i)
// (see shuffle_key.h): a uniformly random permutation that a GPU computes identically in parallel.
std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace cudamlp
