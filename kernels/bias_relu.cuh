// bias_relu and relu_mask_pass: the epilogues of the dense ops as separate elementwise passes, for the cuBLAS
// engine (cuBLAS cannot run our epilogue; the custom engine fuses these into gemm_tiled instead).
//   bias_relu:  y [B, out] += b [out], then max(0, y) when relu
//   relu_mask_pass: dx [B, in] = 0 where x [B, in] <= 0 (backward of the previous layer's ReLU), else
//                   dx * scale (dropout's 1 / (1 - P); 1: dx is left as it is)
// Grid-stride loops: any size.
#pragma once

#include <algorithm>

#include "simt.h"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

__global__ void bias_relu_kernel(float* __restrict__ y, const float* __restrict__ bias, int64_t rows, int cols, bool relu) {
  const int64_t n = rows * cols, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    float value = y[i] + bias[i % cols];
    if (relu && !(value > 0.0f)) value = 0.0f;
    y[i] = value;
  }
}

__global__ void relu_mask_kernel(float* __restrict__ dx, const float* __restrict__ x, int64_t n, float scale) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    if (!(x[i] > 0.0f))
      dx[i] = 0.0f;
    else if (scale != 1.0f)
      dx[i] *= scale;
  }
}

inline unsigned elementwise_blocks(int64_t n) { return unsigned(std::clamp<int64_t>((n + 255) / 256, 1, 1024)); }

inline void bias_relu(float* y, const float* bias, int64_t rows, int cols, bool relu, simt::Stream stream) {
  simt::launch(bias_relu_kernel, dim3(elementwise_blocks(rows * cols)), dim3(256), 0, stream, y, bias, rows, cols, relu);
}

inline void relu_mask_pass(float* dx, const float* x, int64_t n, float scale, simt::Stream stream) {
  simt::launch(relu_mask_kernel, dim3(elementwise_blocks(n)), dim3(256), 0, stream, dx, x, n, scale);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
