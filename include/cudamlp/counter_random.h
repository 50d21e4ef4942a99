// Random numbers as pure functions of counters (Salmon et al. 2011's idea, with SplitMix64's mixer):
// the bits for (seed, a, b, c) are the same on every backend, every thread count and every rank, and
// need no state to carry between steps, so a resumed or data-parallel run draws exactly what one
// uninterrupted process draws. Usable from host code and from CUDA device code.
#pragma once

#include <cstdint>

#include "cudamlp/shuffle_key.h"

namespace cudamlp {

// Which use a draw is for: each gets its own stream of seeds (derive_seed's, far from the shuffles').
enum class RandomUse : uint64_t { kDropout = 1ull << 40, kAugmentation = 2ull << 40 };

// 64 random bits for the counters (a, b, c) of `use` under the run's seed.
CUDAMLP_HOST_DEVICE inline uint64_t counter_bits(uint64_t seed, RandomUse use, uint64_t a, uint64_t b, uint64_t c) {
  return splitmix64_at(splitmix64_at(splitmix64_at(splitmix64_at(seed, uint64_t(use)), a), b), c);
}

// A uniform float in [0, 1) from the top 24 bits: exact in float and in double alike.
CUDAMLP_HOST_DEVICE inline float counter_uniform(uint64_t bits) { return float(bits >> 40) * (1.0f / 16777216.0f); }

// The same in [-1, 1): 2u - 1, exact.
CUDAMLP_HOST_DEVICE inline float counter_symmetric(uint64_t bits) { return 2.0f * counter_uniform(bits) - 1.0f; }

}  // namespace cudamlp
