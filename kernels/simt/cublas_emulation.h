// The subset of cuBLAS the GPU backend calls, emulated on the host for the SIMT-emulated build, so the
// backend's cuBLAS call sites (cublas_gemm.cuh) run in CI. It implements cuBLAS's documented semantics:
// column-major storage, op(A)/op(B), alpha/beta, and the argument checks (m, n, k >= 0;
// lda >= max(1, rows of A as stored); ldb, ldc likewise), returning CUBLAS_STATUS_INVALID_VALUE as
// cuBLAS does. With CUBLAS_TF32_TENSOR_OP_MATH the inputs are rounded to TF32 (10-bit mantissa) first.
// Names and signatures are cuBLAS's, inside our namespace so they never meet the real library's symbols.
#pragma once

#include <cstdint>

namespace cudamlp::emulated_cublas {

enum cublasStatus_t {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_INVALID_VALUE = 7,
};
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum cublasMath_t { CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3 };

struct cublasContext;
using cublasHandle_t = cublasContext*;

cublasStatus_t cublasCreate(cublasHandle_t* handle);
cublasStatus_t cublasDestroy(cublasHandle_t handle);
cublasStatus_t cublasSetStream(cublasHandle_t handle, void* stream);
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode);
const char* cublasGetStatusString(cublasStatus_t status);

// C = alpha op(A) op(B) + beta C; C is m x n, op(A) m x k, op(B) k x n, all column-major.
cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                           const float* beta, float* C, int ldc);

}  // namespace cudamlp::emulated_cublas
