// dense_backward: the gradients of y = x W^T + b given dy = dLoss/dy.
//   dense_backward_input:   dx = dy W, with the previous layer's ReLU backward fused into the epilogue
//                           (dx = 0 where that layer's output x <= 0, else times mask_scale: dropout's
//                           1 / (1 - P), whose dropped units have x = 0). One gemm_tiled launch.
//   dense_backward_weights: dW = dy^T x (summed over the batch) by gemm_tiled with op(A) = dy^T, and
//                           db = column sums of dy by column_sums.
//   dy: [B, out]   x: [B, in]   W: [out, in]   dx: [B, in]   dW: [out, in]   db: [out]
#pragma once

#include "gemm_tiled.cuh"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

struct ReluMaskEpilogue {
  float* dx;
  const float* x;  // the layer's input = the previous hidden layer's ReLU output
  int in;
  bool relu_mask;
  float mask_scale;  // with relu_mask: what the gradient of a unit with x > 0 is multiplied by
  __device__ void operator()(int64_t m, int64_t n, float sum) const {
    const int64_t i = m * in + n;
    dx[i] = !relu_mask ? sum : x[i] > 0.0f ? sum * mask_scale : 0.0f;
  }
};

// sums[c] = sum over rows r of a[r, c], a: [rows, cols]. Block (32, kColumnSumRowThreads): 32 columns per
// block, 32 threads down each column taking every 32nd row, then a fixed-order reduction in shared
// memory, so the result is deterministic. (A 10-class head is one block: at batch 8192 each thread
// adds 256 rows.)
constexpr int kColumnSumRowThreads = 32;

__global__ void __launch_bounds__(32 * kColumnSumRowThreads)
    column_sums(const float* __restrict__ a, float* __restrict__ sums, int rows, int cols) {
  __shared__ float partial[kColumnSumRowThreads][33];  // +1 column avoids shared-memory bank conflicts
  const int64_t c = int64_t(blockIdx.x) * 32 + threadIdx.x;
  float sum = 0.0f;
  if (c < cols)
    for (int64_t r = threadIdx.y; r < rows; r += kColumnSumRowThreads) sum += a[r * cols + c];
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    float total = 0.0f;
    for (int i = 0; i < kColumnSumRowThreads; ++i) total += partial[i][threadIdx.x];
    sums[c] = total;
  }
}

inline void column_sums_of(const float* a, float* sums, int rows, int cols, simt::Stream stream) {
  simt::launch(column_sums, dim3(unsigned((cols + 31) / 32)), dim3(32, kColumnSumRowThreads), 0, stream, a, sums,
               rows, cols);
}

inline void dense_backward_input(const float* dy, const float* W, const float* x, float* dx, int B, int in,
                                 int out, bool relu_mask, float mask_scale, simt::Stream stream) {
  launch_gemm<false, false>(dy, W, B, in, out, ReluMaskEpilogue{dx, x, in, relu_mask, mask_scale}, stream);
}

inline void dense_backward_weights(const float* dy, const float* x, float* dW, float* db, int B, int in,
                                   int out, simt::Stream stream) {
  launch_gemm<true, false>(dy, x, out, in, B, StoreEpilogue{dW, in}, stream);
  column_sums_of(dy, db, B, out, stream);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
