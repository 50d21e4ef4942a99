// gemm_tiled: C[M, N] = op(A)[M, K] * op(B)[K, N], each result handed to an epilogue (bias, ReLU,
// masks, store) so no extra pass over C is needed. The one matrix-product kernel behind the dense
// forward and both halves of the dense backward.
//
// Layouts (row-major):   kTransA = false: A is [M, K]      kTransA = true: A is [K, M] (op(A) = A^T)
//                        kTransB = false: B is [K, N]      kTransB = true: B is [N, K] (op(B) = B^T)
// Tiling: a block computes a BM x BN tile of C with (BM / TM) x (BN / TN) threads, each thread a TM x TN
// sub-tile held in registers. K is walked in steps of BK: the block copies a BM x BK slice of op(A) and
// a BK x BN slice of op(B) into shared memory (k-major, so a thread's TM / TN values are contiguous),
// synchronises, accumulates, synchronises. Loads outside [0, M) x [0, K) x [0, N) read as zero and
// results outside C are not stored, so every shape works: M, N, K >= 1, nothing needs to be a multiple
// of the tile. Limits: M, N, K < 2^31; indices are computed in 64 bits.
#pragma once

#include "simt.h"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

// kPad: floats added to each shared row (the lab's variant 4 tries 1; see kernels/lab/gemm_variants.cuh).
template <int BM, int BN, int BK, int TM, int TN, bool kTransA, bool kTransB, typename Epilogue, int kPad = 0>
__global__ void gemm_tiled(const float* __restrict__ A, const float* __restrict__ B, int M, int N, int K,
                           Epilogue epilogue) {
  constexpr int kThreadsN = BN / TN;
  constexpr int kThreads = (BM / TM) * kThreadsN;
  static_assert(BM % TM == 0 && BN % TN == 0, "tile must split into thread sub-tiles");
  static_assert((BM * BK) % kThreads == 0 && (BK * BN) % kThreads == 0, "every thread loads equally");

  __shared__ float a_tile[BK][BM + kPad];  // a_tile[k][m] = op(A)[m0 + m, k0 + k]
  __shared__ float b_tile[BK][BN + kPad];  // b_tile[k][n] = op(B)[k0 + k, n0 + n]

  const int tid = int(threadIdx.x);
  const int thread_m = tid / kThreadsN;  // this thread's rows: m0 + thread_m * TM + [0, TM)
  const int thread_n = tid % kThreadsN;  // this thread's columns: n0 + thread_n * TN + [0, TN)
  const int64_t m0 = int64_t(blockIdx.y) * BM;
  const int64_t n0 = int64_t(blockIdx.x) * BN;

  float acc[TM][TN] = {};
  for (int64_t k0 = 0; k0 < K; k0 += BK) {
    // Consecutive threads read consecutive addresses of A and B in global memory (coalesced).
    for (int i = tid; i < BM * BK; i += kThreads) {
      const int m = kTransA ? i % BM : i / BK;
      const int k = kTransA ? i / BM : i % BK;
      const int64_t gm = m0 + m, gk = k0 + k;
      float value = 0.0f;
      if (gm < M && gk < K) value = kTransA ? A[gk * M + gm] : A[gm * K + gk];
      a_tile[k][m] = value;
    }
    for (int i = tid; i < BK * BN; i += kThreads) {
      const int n = kTransB ? i / BK : i % BN;
      const int k = kTransB ? i % BK : i / BN;
      const int64_t gn = n0 + n, gk = k0 + k;
      float value = 0.0f;
      if (gn < N && gk < K) value = kTransB ? B[gn * K + gk] : B[gk * N + gn];
      b_tile[k][n] = value;
    }
    __syncthreads();
    for (int k = 0; k < BK; ++k) {
      float a[TM], b[TN];
      for (int i = 0; i < TM; ++i) a[i] = a_tile[k][thread_m * TM + i];
      for (int j = 0; j < TN; ++j) b[j] = b_tile[k][thread_n * TN + j];
      for (int i = 0; i < TM; ++i)
        for (int j = 0; j < TN; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();  // the next iteration overwrites the tiles
  }
  for (int i = 0; i < TM; ++i) {
    const int64_t m = m0 + thread_m * TM + i;
    if (m >= M) break;
    for (int j = 0; j < TN; ++j) {
      const int64_t n = n0 + thread_n * TN + j;
      if (n < N) epilogue(m, n, acc[i][j]);
    }
  }
}

// The plain epilogue: C [M, ldc] row-major gets the result.
struct StoreEpilogue {
  float* c;
  int ldc;
  __device__ void operator()(int64_t m, int64_t n, float sum) const { c[m * ldc + n] = sum; }
};

// The tile shape every dense op uses: 64 x 64 tiles, 16-deep K steps, 4 x 4 results per thread, 256
// threads per block.
struct GemmTile {
  static constexpr int BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;
  static constexpr int kThreads = (BM / TM) * (BN / TN);
};

template <bool kTransA, bool kTransB, int kPad = 0, typename Epilogue>
void launch_gemm(const float* A, const float* B, int M, int N, int K, Epilogue epilogue, simt::Stream stream) {
  using T = GemmTile;
  const dim3 grid(unsigned((N + T::BN - 1) / T::BN), unsigned((M + T::BM - 1) / T::BM));
  simt::launch(gemm_tiled<T::BM, T::BN, T::BK, T::TM, T::TN, kTransA, kTransB, Epilogue, kPad>, grid,
               dim3(T::kThreads), 0, stream, A, B, M, N, K, epilogue);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
