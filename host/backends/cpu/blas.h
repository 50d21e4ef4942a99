// The one door to BLAS for the cpu backend: row-major SGEMM through CBLAS, and the thread count that
// both OpenMP and the BLAS use. The library is chosen at configure time (CMake's CUDAMLP_BLAS: OpenBLAS
// or BLIS, each in its OpenMP build so that the BLAS and our own parallel loops share one thread pool
// instead of fighting over the cores).
#pragma once

#include <string>

namespace cudamlp::cpu {

// C [M, N] = alpha * op(A) op(B) + beta * C, every matrix row-major; op(X) is X^T when trans_x.
// A is [M, K] (or [K, M] when trans_a) with row stride lda; B is [K, N] (or [N, K]) with stride ldb.
// Runs on the threads of set_threads(), except small products (under 2^20 multiply-adds), which run on
// the calling thread alone.
void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc);

// Sets the threads of the calling thread's OpenMP regions and of the BLAS. Cheap: the backend calls
// it at every entry point, so backends with different --threads can live in one process.
void set_threads(int threads);

// The default thread count: OMP_NUM_THREADS when set, else every core this process may run on.
int default_threads();

// What this build computes with, for `cudamlp bench` and the logs: library, version, threading and,
// for OpenBLAS, the kernels it picked for this CPU (e.g. "OpenBLAS 0.3.21 (OpenMP, Cooperlake kernels)").
std::string blas_description();

}  // namespace cudamlp::cpu
