// The GEMM lab: numbered variants of the custom matrix product, each a candidate to replace the mainline
// gemm_tiled (kernels/gemm_tiled.cuh) behind the dense ops. Same contract as gemm_tiled: row-major
// C[M, N] = op(A)[M, K] op(B)[K, N] handed element by element to an epilogue, every shape M, N, K >= 1
// with no multiple-of-tile requirement, indices in 64 bits. Only a variant that beats the mainline on a
// real GPU (benchmarks/gemm_lab_benchmark.cpp) moves to the mainline; the others stay here, with their
// measurements in docs/gpu-validation.md, so nobody tries them twice.
//
//   variant 1  the mainline: 64 x 64 tiles, BK 16, 4 x 4 results per thread, 256 threads
//   variant 2  128 x 128 tiles, BK 8, 8 x 8 results per thread, 256 threads; shared tiles double-buffered
//              (the next K slice is fetched into registers while this one is multiplied, so one
//              barrier per slice), padded against bank conflicts; scalar global loads
//   variant 3  variant 2 with 128-bit global loads where the operands allow them (see the launcher)
//   variant 4  variant 1 with one float of padding per shared row: where an operand's contiguous
//              dimension runs along the 16-deep slice (A as stored, W in the forward pass), 16 threads
//              store one column of a 64-float-wide tile, all into the same bank; padded, at most two
//              share a bank
//
// Variants 2 and 3 (gemm_128): each thread owns an 8 x 8 block of C split into four 4 x 4 quadrants at
// row offsets {0, 64} and column offsets {0, 64} of the tile: thread (tm, tn) of the 16 x 16 grid owns
// rows tm*4 + {0..3} and 64 + tm*4 + {0..3}, likewise columns. A warp's 32 threads then read 16
// consecutive float4 of the B slice (conflict-free) and 2 distinct float4 of the A slice (broadcast).
// Each thread fetches 4 elements of each operand per slice, 4 consecutive ones along the operand's
// contiguous dimension: where that dimension runs along the tile's 128 rows or columns a warp reads
// whole 128-byte lines, where it runs along the 8-deep slice, 32-byte runs of 16 rows.
#pragma once

#include "gemm_tiled.cuh"
#include "simt.h"

namespace cudamlp::kernels::lab {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

// out[j] = m[row, col + j] of the row-major [rows, cols] matrix m for j < 4, zero outside it. kVector:
// the launcher checked that m and cols allow an aligned 128-bit load when all four are inside.
template <bool kVector>
__device__ __forceinline__ void fetch4(const float* __restrict__ m, int64_t row, int64_t col, int64_t rows,
                                       int64_t cols, float out[4]) {
  if (kVector && row < rows && col + 3 < cols) return simt::load_float4(m + row * cols + col, out);
  for (int j = 0; j < 4; ++j) out[j] = row < rows && col + j < cols ? m[row * cols + col + j] : 0.0f;
}

template <bool kTransA, bool kTransB, bool kVector, typename Epilogue>
__global__ void __launch_bounds__(256)
    gemm_128(const float* __restrict__ A, const float* __restrict__ B, int M, int N, int K, Epilogue epilogue) {
  constexpr int BM = 128, BN = 128, BK = 8, kPad = 4;  // 256 threads; kPad keeps float4 rows aligned
  alignas(16) __shared__ float a_tile[2][BK][BM + kPad];  // a_tile[buf][k][m] = op(A)[m0 + m, k0 + k]
  alignas(16) __shared__ float b_tile[2][BK][BN + kPad];  // b_tile[buf][k][n] = op(B)[k0 + k, n0 + n]

  const int tid = int(threadIdx.x);
  const int64_t m0 = int64_t(blockIdx.y) * BM, n0 = int64_t(blockIdx.x) * BN;
  // What this thread fetches per slice: 4 elements along each operand's contiguous dimension.
  //   A [M, K]: row m0 + tid / 2, columns k0 + (tid % 2) * 4 + j     A^T stored [K, M]: row k0 + tid / 32,
  //   columns m0 + (tid % 32) * 4 + j. B likewise with N for M.
  const int a_outer = kTransA ? tid / 32 : tid / 2, a_inner = kTransA ? (tid % 32) * 4 : (tid % 2) * 4;
  const int b_outer = kTransB ? tid / 2 : tid / 32, b_inner = kTransB ? (tid % 2) * 4 : (tid % 32) * 4;
  float a_next[4], b_next[4];
  auto fetch = [&](int64_t k0) {
    if (kTransA) fetch4<kVector>(A, k0 + a_outer, m0 + a_inner, K, M, a_next);
    else fetch4<kVector>(A, m0 + a_outer, k0 + a_inner, M, K, a_next);
    if (kTransB) fetch4<kVector>(B, n0 + b_outer, k0 + b_inner, N, K, b_next);
    else fetch4<kVector>(B, k0 + b_outer, n0 + b_inner, K, N, b_next);
  };
  // Along the tile's rows: one 128-bit store. Across them (a column of the tile): four, which the padding
  // spreads over distinct banks.
  auto store = [&](int buf) {
    if (kTransA) simt::store_float4(&a_tile[buf][a_outer][a_inner], a_next);
    else for (int j = 0; j < 4; ++j) a_tile[buf][a_inner + j][a_outer] = a_next[j];
    if (kTransB) for (int j = 0; j < 4; ++j) b_tile[buf][b_inner + j][b_outer] = b_next[j];
    else simt::store_float4(&b_tile[buf][b_outer][b_inner], b_next);
  };

  const int tm = tid / 16, tn = tid % 16;
  float acc[8][8] = {};
  fetch(0);
  store(0);
  __syncthreads();
  int buf = 0;
  for (int64_t k0 = 0; k0 < K; k0 += BK) {
    const bool more = k0 + BK < K;
    if (more) fetch(k0 + BK);  // in flight while this slice is multiplied
    for (int k = 0; k < BK; ++k) {
      float a[8], b[8];
      simt::load_float4(&a_tile[buf][k][tm * 4], a);
      simt::load_float4(&a_tile[buf][k][64 + tm * 4], a + 4);
      simt::load_float4(&b_tile[buf][k][tn * 4], b);
      simt::load_float4(&b_tile[buf][k][64 + tn * 4], b + 4);
      for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) acc[i][j] += a[i] * b[j];
    }
    // The other buffer was last read before the previous barrier, so it can be filled now; one barrier
    // per slice then both publishes it and frees this one.
    if (more) store(buf ^ 1);
    __syncthreads();
    buf ^= 1;
  }
  for (int i = 0; i < 8; ++i) {
    const int64_t m = m0 + (i / 4) * 64 + tm * 4 + i % 4;
    if (m >= M) continue;
    for (int j = 0; j < 8; ++j) {
      const int64_t n = n0 + (j / 4) * 64 + tn * 4 + j % 4;
      if (n < N) epilogue(m, n, acc[i][j]);
    }
  }
}

inline bool aligned16(const float* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Runs variant 1, 2, 3 or 4. Variant 3 uses 128-bit loads only when both operands' bases are 16-byte
// aligned and their row lengths (their contiguous dimensions) are multiples of 4, so every row starts
// aligned; otherwise it runs as variant 2.
template <bool kTransA, bool kTransB, typename Epilogue>
void launch_gemm_variant(int variant, const float* A, const float* B, int M, int N, int K, Epilogue epilogue,
                         simt::Stream stream) {
  if (variant == 1) return launch_gemm<kTransA, kTransB>(A, B, M, N, K, epilogue, stream);
  if (variant == 4) return launch_gemm<kTransA, kTransB, 1>(A, B, M, N, K, epilogue, stream);
  const dim3 grid(unsigned((N + 127) / 128), unsigned((M + 127) / 128));
  const bool vector = variant == 3 && aligned16(A) && aligned16(B) && (kTransA ? M : K) % 4 == 0 &&
                      (kTransB ? K : N) % 4 == 0;
  if (vector)
    simt::launch(gemm_128<kTransA, kTransB, true, Epilogue>, grid, dim3(256), 0, stream, A, B, M, N, K, epilogue);
  else
    simt::launch(gemm_128<kTransA, kTransB, false, Epilogue>, grid, dim3(256), 0, stream, A, B, M, N, K, epilogue);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels::lab
