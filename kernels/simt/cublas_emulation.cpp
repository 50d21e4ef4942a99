// Host emulation of cublasSgemm and friends; see cublas_emulation.h.
#include "cublas_emulation.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace cudamlp::emulated_cublas {

struct cublasContext {
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

namespace {

// Round to TF32 (8-bit exponent, 10-bit mantissa) to nearest even, as tensor cores read FP32 inputs.
float to_tf32(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if ((bits & 0x7F800000u) != 0x7F800000u) bits = (bits + 0xFFFu + ((bits >> 13) & 1u)) & ~0x1FFFu;
  std::memcpy(&x, &bits, 4);
  return x;
}

}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *handle = new cublasContext();
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, void* /*stream*/) {
  return handle ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode != CUBLAS_DEFAULT_MATH && mode != CUBLAS_TF32_TENSOR_OP_MATH) return CUBLAS_STATUS_INVALID_VALUE;
  handle->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
  }
  return "unknown cuBLAS status";
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                           const float* beta, float* C, int ldc) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if ((transa != CUBLAS_OP_N && transa != CUBLAS_OP_T) || (transb != CUBLAS_OP_N && transb != CUBLAS_OP_T))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
  // Stored shapes (column-major): A is (transa == N ? m x k : k x m), B is (transb == N ? k x n : n x k).
  const int a_rows = transa == CUBLAS_OP_N ? m : k;
  const int b_rows = transb == CUBLAS_OP_N ? k : n;
  if (lda < std::max(1, a_rows) || ldb < std::max(1, b_rows) || ldc < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;

  const bool tf32 = handle->math == CUBLAS_TF32_TENSOR_OP_MATH;
  auto a_at = [&](int i, int p) {  // op(A)[i, p]
    const float v = transa == CUBLAS_OP_N ? A[i + int64_t(p) * lda] : A[p + int64_t(i) * lda];
    return tf32 ? to_tf32(v) : v;
  };
  auto b_at = [&](int p, int j) {  // op(B)[p, j]
    const float v = transb == CUBLAS_OP_N ? B[p + int64_t(j) * ldb] : B[j + int64_t(p) * ldb];
    return tf32 ? to_tf32(v) : v;
  };
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double sum = 0.0;
      for (int p = 0; p < k; ++p) sum += double(a_at(i, p)) * double(b_at(p, j));
      float& c = C[i + int64_t(j) * ldc];
      // beta == 0: C is not read (it may hold NaN), as cuBLAS documents.
      c = float(double(*alpha) * sum + (*beta == 0.0f ? 0.0 : double(*beta) * double(c)));
    }
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace cudamlp::emulated_cublas
