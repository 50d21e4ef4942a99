// Inverted dropout's mask, the same on every backend: unit j of hidden layer l of the sample at position
// p of the epoch's order, in optimizer step s, is kept iff the top 24 of its counter bits
// (counter_random.h) reach dropout_threshold(P), an integer; a kept unit is multiplied by
// dropout_scale(P) = 1 / (1 - P), a dropped one is 0. The decision is integer-exact, so the reference
// (in double), the cpu backend and the GPU kernels zero the very same units. Usable from host code and
// from CUDA device code.
#pragma once

#include <cstdint>

#include "cudamlp/counter_random.h"

namespace cudamlp {

// round(P * 2^24): a unit is dropped with probability threshold / 2^24, P to within 2^-25. P in [0, 1).
CUDAMLP_HOST_DEVICE inline uint32_t dropout_threshold(float P) { return uint32_t(double(P) * 16777216.0 + 0.5); }

// What a kept unit is multiplied by: 1 / (1 - P) in float (1.0f exactly when P is 0).
CUDAMLP_HOST_DEVICE inline float dropout_scale(float P) { return 1.0f / (1.0f - P); }

// The part of counter_bits(seed, kDropout, step, position, c) that every unit of a sample shares:
// counter_bits = splitmix64_at(dropout_sample_key(seed, step, position), c), so a row of units costs one
// mix each instead of four.
CUDAMLP_HOST_DEVICE inline uint64_t dropout_sample_key(uint64_t seed, uint64_t step, uint64_t position) {
  return splitmix64_at(splitmix64_at(splitmix64_at(seed, uint64_t(RandomUse::kDropout)), step), position);
}

// Whether unit `unit` of hidden layer `layer` is kept, for the sample whose dropout_sample_key is `key`
// (in step StepValues::step, at its position in the epoch's order).
CUDAMLP_HOST_DEVICE inline bool dropout_keeps(uint64_t key, uint32_t layer, uint32_t unit, uint32_t threshold) {
  return (splitmix64_at(key, (uint64_t(layer) << 32) | unit) >> 40) >= threshold;
}

}  // namespace cudamlp
