// dense_forward: y = x W^T + b, then ReLU for hidden layers. One gemm_tiled launch (op(B) = W^T) with
// the bias and ReLU fused into its epilogue.
//   x: [B, in]   W: [out, in] (PyTorch's nn.Linear)   b: [out]   y: [B, out]
#pragma once

#include "gemm_tiled.cuh"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

struct BiasReluEpilogue {
  float* y;
  const float* bias;
  int out;
  bool relu;
  __device__ void operator()(int64_t m, int64_t n, float sum) const {
    float value = sum + bias[n];
    if (relu && !(value > 0.0f)) value = 0.0f;
    y[m * out + n] = value;
  }
};

inline void dense_forward(const float* x, const float* W, const float* b, float* y, int B, int in, int out,
                          bool relu, simt::Stream stream) {
  launch_gemm<false, true>(x, W, B, out, in, BiasReluEpilogue{y, b, out, relu}, stream);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
