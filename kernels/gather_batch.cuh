// gather_batch: builds a minibatch from the training set kept on the device, uint8 pixels or float32
// features: row b of x is sample indices[start + b], pixels scaled to [0, 1] as pixel / 255 (the same
// division as scale_pixel on the host), features copied as they are. start is read on the device from
// *cursor (0 when cursor is null): the epoch's samples consumed so far, which the step itself advances,
// so a captured CUDA graph replays step after step unchanged.
//   samples: [N, D] uint8 or float   labels: [N]   indices: [start + B]   x: [B, D] float   batch_labels: [B]
// Grid (B, ceil(D / 256)): one row per blockIdx.x (x: CUDA allows 2^31 - 1 blocks there, y only 65535),
// 256 values per block.
#pragma once

#include "cudamlp/input_scale.h"
#include "simt.h"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

// A stored value as the network's input (input_scale.h).
__device__ inline float to_input(uint8_t pixel) { return float(pixel) / 255.0f; }
__device__ inline float to_input(float feature) { return feature; }

template <typename T>
__global__ void gather_batch_kernel(const T* __restrict__ samples, const uint8_t* __restrict__ labels,
                                    const int64_t* __restrict__ indices, const long long* __restrict__ cursor, int D,
                                    float* __restrict__ x, uint8_t* __restrict__ batch_labels) {
  const int64_t b = blockIdx.x;
  const int64_t d = int64_t(blockIdx.y) * blockDim.x + threadIdx.x;
  const int64_t sample = indices[(cursor ? *cursor : 0) + b];
  if (d < D) x[b * D + d] = to_input(samples[sample * D + d]);
  if (d == 0) batch_labels[b] = labels[sample];
}

// samples: uint8_t* for InputScale::kPixel255, float* for kNone.
inline void gather_batch(const void* samples, InputScale scale, const uint8_t* labels, const int64_t* indices,
                         const long long* cursor, int B, int D, float* x, uint8_t* batch_labels, simt::Stream stream) {
  constexpr int kThreads = 256;
  const dim3 grid(unsigned(B), unsigned((D + kThreads - 1) / kThreads));
  if (scale == InputScale::kPixel255)
    simt::launch(gather_batch_kernel<uint8_t>, grid, dim3(kThreads), 0, stream, static_cast<const uint8_t*>(samples),
                 labels, indices, cursor, D, x, batch_labels);
  else
    simt::launch(gather_batch_kernel<float>, grid, dim3(kThreads), 0, stream, static_cast<const float*>(samples),
                 labels, indices, cursor, D, x, batch_labels);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
