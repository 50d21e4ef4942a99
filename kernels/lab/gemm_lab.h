// The GEMM lab's entry points, for its tests (tests/kernels/test_gemm_lab.cpp) and its benchmark
// (benchmarks/gemm_lab_benchmark.cpp): row-major C [M, N] = op(A) op(B) by a numbered variant of
// gemm_variants.cuh, or by cuBLAS as the yardstick, on one executor. Not used by the tool itself.
#pragma once

#include "device_ops.h"

namespace cudamlp::lab {

inline constexpr int kCublasVariant = 0;  // cuBLAS SGEMM (FP32), the yardstick
inline constexpr int kLastGemmVariant = 4;

// "cublas", "1-tiled-64", ...: names for tables and test names.
const char* gemm_variant_name(int variant);

struct GemmLab {
  const DeviceOps* ops;  // the executor's memory and synchronize
  // op(A) = A^T when trans_a (A stored [K, M]), else A [M, K]; likewise B ([N, K] or [K, N]).
  void (*gemm)(int variant, bool trans_a, bool trans_b, const float* A, const float* B, float* C, int M, int N,
               int K, void* stream);
};

const GemmLab& emulated_gemm_lab();
const GemmLab* cuda_gemm_lab();  // nullptr in a build without CUDA

}  // namespace cudamlp::lab
