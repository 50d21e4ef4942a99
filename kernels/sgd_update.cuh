// sgd_update: SGD with PyTorch's momentum, elementwise over a parameter tensor:
//   v = momentum * v + g;  w -= lr * v      (momentum 0: v = g, so w -= lr * g)
// Grid-stride loop: any n, any grid.   w, g, v: [n]
#pragma once

#include <algorithm>

#include "simt.h"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

__global__ void sgd_update_kernel(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ v,
                                  int64_t n, float lr, float momentum) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float velocity = momentum * v[i] + g[i];
    v[i] = velocity;
    w[i] -= lr * velocity;
  }
}

inline void sgd_update(float* w, const float* g, float* v, int64_t n, float lr, float momentum, simt::Stream stream) {
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 1024);
  simt::launch(sgd_update_kernel, dim3(unsigned(blocks)), dim3(kThreads), 0, stream, w, g, v, n, lr, momentum);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
