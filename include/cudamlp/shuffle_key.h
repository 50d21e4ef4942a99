// The per-epoch sample order, defined so that any device can compute it in parallel and get the same
// permutation: sample i gets the key splitmix64_at(epoch_seed, i), and the epoch visits samples in
// increasing key order (ties, about one in 2^64 / N^2 epochs, by index). The host sorts; the GPU backend
// sorts the same keys with Thrust. Usable from host code and from CUDA device code.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define CUDAMLP_HOST_DEVICE __host__ __device__
#else
#define CUDAMLP_HOST_DEVICE
#endif

namespace cudamlp {

// The i-th output (from 0) of SplitMix64 seeded with `seed`: what the (i + 1)-th Rng(seed).next() returns.
CUDAMLP_HOST_DEVICE inline uint64_t splitmix64_at(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace cudamlp
