// dropout_forward: inverted dropout of a hidden layer's ReLU output, in place. Row b of y is the sample
// at position start + b of the epoch's order, start = *cursor (0 when cursor is null) + offset; step is
// read from device memory (StepValues::step), so a captured CUDA graph draws each replayed step's masks.
// Unit j of row b is kept, times dropout_scale(P), iff dropout_keeps(dropout_sample_key(seed, step,
// start + b), layer, j, threshold) (dropout_mask.h: integer-exact, the reference's very mask); else 0.
//   y: [B, units]   step: [1]   cursor: [1] (EpochTotals::cursor) or null
// Grid (B, ceil(units / 256)): one row per blockIdx.x (CUDA allows 2^31 - 1 blocks there), 256 units per
// block; each thread mixes its row's key itself (three SplitMix64 rounds, cheaper than sharing it).
#pragma once

#include "cudamlp/dropout_mask.h"
#include "cudamlp/optimizer.h"
#include "simt.h"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

__global__ void dropout_forward_kernel(float* __restrict__ y, int units, uint32_t threshold, float scale, uint64_t seed,
                                       int layer, const StepValues* __restrict__ step,
                                       const long long* __restrict__ cursor, int64_t offset) {
  const int64_t b = blockIdx.x;
  const int j = int(blockIdx.y) * int(blockDim.x) + int(threadIdx.x);
  if (j >= units) return;
  const int64_t position = (cursor ? *cursor : 0) + offset + b;
  const uint64_t key = dropout_sample_key(seed, uint64_t(step->step), uint64_t(position));
  float& value = y[b * units + j];
  value = dropout_keeps(key, uint32_t(layer), uint32_t(j), threshold) ? value * scale : 0.0f;
}

inline void dropout_forward(float* y, int B, int units, float P, uint64_t seed, int layer, const StepValues* step,
                            const long long* cursor, int64_t offset, simt::Stream stream) {
  constexpr int kThreads = 256;
  simt::launch(dropout_forward_kernel, dim3(unsigned(B), unsigned((units + kThreads - 1) / kThreads)), dim3(kThreads),
               0, stream, y, units, dropout_threshold(P), dropout_scale(P), seed, layer, step, cursor, offset);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
