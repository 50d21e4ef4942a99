// cublas_gemm: our row-major C[M, N] = op(A) op(B) through cuBLAS, which is column-major. The one call
// site of cublasSgemm, compiled against the real cuBLAS (nvcc) or its emulation (g++, CI), so the
// emulated tests check exactly these arguments.
//
// A row-major [R, C] matrix is, to cuBLAS, its column-major transpose [C, R] with leading dimension C.
// So we ask cuBLAS for C^T = op(B)^T op(A)^T, an N x M column-major product whose memory is our C:
//   op(B)^T: B as stored is [K, N] row-major = B^T col-major (N x K, ld N) -> CUBLAS_OP_N
//            or [N, K] row-major (kTransB) = col-major K x N, ld K      -> CUBLAS_OP_T
//   op(A)^T: A as stored is [M, K] row-major = A^T col-major (K x M, ld K) -> CUBLAS_OP_N
//            or [K, M] row-major (kTransA) = col-major M x K, ld M      -> CUBLAS_OP_T
#pragma once

#include <string>

#include "cudamlp/errors.h"
#include "simt.h"

#if SIMT_EMULATED
#include "cublas_emulation.h"
#else
#include <cublas_v2.h>
#endif

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

#if SIMT_EMULATED
using namespace cudamlp::emulated_cublas;
#endif

inline void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                cublasGetStatusString(status));
}
#define CUDAMLP_CUBLAS_CHECK(call) check_cublas((call), #call, __FILE__, __LINE__)

// One cuBLAS handle per executor, made on first use and kept for the process.
inline cublasHandle_t cublas_handle() {
  static const cublasHandle_t handle = [] {
    cublasHandle_t created = nullptr;
    CUDAMLP_CUBLAS_CHECK(cublasCreate(&created));
#if !SIMT_EMULATED
    // A workspace of our own, so cuBLAS allocates nothing while a CUDA graph is being captured.
    constexpr size_t kWorkspaceBytes = size_t{32} << 20;
    void* workspace = nullptr;
    SIMT_CUDA_CHECK(cudaMalloc(&workspace, kWorkspaceBytes));
    CUDAMLP_CUBLAS_CHECK(cublasSetWorkspace(created, workspace, kWorkspaceBytes));
#endif
    return created;
  }();
  return handle;
}

// C [M, N] = op(A) op(B), row-major; op as in gemm_tiled.cuh. tf32: tensor-core TF32 inputs.
inline void cublas_gemm(cublasHandle_t handle, bool trans_a, bool trans_b, int M, int N, int K, const float* A,
                        const float* B, float* C, bool tf32, simt::Stream stream) {
  const float one = 1.0f, zero = 0.0f;
  CUDAMLP_CUBLAS_CHECK(cublasSetStream(handle, stream));
  CUDAMLP_CUBLAS_CHECK(cublasSetMathMode(handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  CUDAMLP_CUBLAS_CHECK(cublasSgemm(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   N, M, K, &one, B, trans_b ? K : N, A, trans_a ? M : K, &zero, C, N));
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
