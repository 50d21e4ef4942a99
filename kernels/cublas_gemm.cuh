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

// One cuBLAS handle per executor, made on first use and kept for the process, with (on a GPU) a
// workspace of our own, so that cuBLAS allocates nothing while a CUDA graph is being captured. One
// workspace serves every stream: products on two streams must not overlap in time (a process trains
// one backend at a time, and each waits for its stream before another is used).
struct CublasContext {
  cublasHandle_t handle = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

inline const CublasContext& cublas_context() {
  static const CublasContext context = [] {
    CublasContext created;
    CUDAMLP_CUBLAS_CHECK(cublasCreate(&created.handle));
#if !SIMT_EMULATED
    created.workspace_bytes = size_t{32} << 20;
    CUDAMLP_CUDA_CHECK(cudaMalloc(&created.workspace, created.workspace_bytes));
#endif
    return created;
  }();
  return context;
}

// C [M, N] = op(A) op(B), row-major; op as in gemm_tiled.cuh. tf32: tensor-core TF32 inputs.
inline void cublas_gemm(const CublasContext& cublas, bool trans_a, bool trans_b, int M, int N, int K, const float* A,
                        const float* B, float* C, bool tf32, simt::Stream stream) {
  const float one = 1.0f, zero = 0.0f;
  const cublasHandle_t handle = cublas.handle;
  CUDAMLP_CUBLAS_CHECK(cublasSetStream(handle, stream));
#if !SIMT_EMULATED
  // cublasSetStream resets the handle to cuBLAS's default workspace pool (cuBLAS documentation): ours again.
  CUDAMLP_CUBLAS_CHECK(cublasSetWorkspace(handle, cublas.workspace, cublas.workspace_bytes));
#endif
  CUDAMLP_CUBLAS_CHECK(cublasSetMathMode(handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  CUDAMLP_CUBLAS_CHECK(cublasSgemm(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   N, M, K, &one, B, trans_b ? K : N, A, trans_a ? M : K, &zero, C, N));
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
