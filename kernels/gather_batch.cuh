// gather_batch: builds a minibatch from the training set kept on the device as uint8: row b of x is
// sample indices[start + b], scaled to [0, 1] as pixel / 255 (the same division as scale_pixel on the
// host). start is read on the device from *cursor (0 when cursor is null): the epoch's samples consumed
// so far, which the step itself advances, so a captured CUDA graph replays step after step unchanged.
//   pixels: [N, D] uint8   labels: [N]   indices: [start + B]   x: [B, D] float   batch_labels: [B]
// Grid (B, ceil(D / 256)): one row per blockIdx.x (x: CUDA allows 2^31 - 1 blocks there, y only 65535),
// 256 pixels per block.
#pragma once

#include "simt.h"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

__global__ void gather_batch_kernel(const uint8_t* __restrict__ pixels, const uint8_t* __restrict__ labels,
                                    const int64_t* __restrict__ indices, const long long* __restrict__ cursor, int D,
                                    float* __restrict__ x, uint8_t* __restrict__ batch_labels) {
  const int64_t b = blockIdx.x;
  const int64_t d = int64_t(blockIdx.y) * blockDim.x + threadIdx.x;
  const int64_t sample = indices[(cursor ? *cursor : 0) + b];
  if (d < D) x[b * D + d] = float(pixels[sample * D + d]) / 255.0f;
  if (d == 0) batch_labels[b] = labels[sample];
}

inline void gather_batch(const uint8_t* pixels, const uint8_t* labels, const int64_t* indices, const long long* cursor,
                         int B, int D, float* x, uint8_t* batch_labels, simt::Stream stream) {
  constexpr int kThreads = 256;
  simt::launch(gather_batch_kernel, dim3(unsigned(B), unsigned((D + kThreads - 1) / kThreads)), dim3(kThreads), 0,
               stream, pixels, labels, indices, cursor, D, x, batch_labels);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
