// lab_gemm(): the lab's variants and cuBLAS behind one call. Included once by gemm_lab_cuda.cu (nvcc)
// and once by gemm_lab_emulated.cpp (g++, SIMT emulator), like kernels/device_ops_table.h.
#pragma once

#include "cudamlp/errors.h"
#include "cublas_gemm.cuh"
#include "gemm_lab.h"
#include "gemm_variants.cuh"

namespace cudamlp::kernels::lab {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

template <bool kTransA, bool kTransB>
void gemm_with(int variant, const float* A, const float* B, float* C, int M, int N, int K, simt::Stream stream) {
  if (variant == cudamlp::lab::kCublasVariant)
    return cublas_gemm(cublas_context(), kTransA, kTransB, M, N, K, A, B, C, false, stream);
  launch_gemm_variant<kTransA, kTransB>(variant, A, B, M, N, K, StoreEpilogue{C, N}, stream);
}

inline void lab_gemm(int variant, bool trans_a, bool trans_b, const float* A, const float* B, float* C, int M, int N,
                     int K, void* stream) {
  if (variant < 0 || variant > cudamlp::lab::kLastGemmVariant)
    throw Error("GEMM lab: no variant " + std::to_string(variant));
  const auto s = static_cast<simt::Stream>(stream);
  if (trans_a) {
    if (trans_b) return gemm_with<true, true>(variant, A, B, C, M, N, K, s);
    return gemm_with<true, false>(variant, A, B, C, M, N, K, s);
  }
  if (trans_b) return gemm_with<false, true>(variant, A, B, C, M, N, K, s);
  return gemm_with<false, false>(variant, A, B, C, M, N, K, s);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels::lab
