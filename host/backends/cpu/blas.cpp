// See blas.h. The only file that knows which BLAS this build links (CUDAMLP_BLAS_OPENBLAS or
// CUDAMLP_BLAS_BLIS, set by CMake).
#include "blas.h"

#include <omp.h>

#include <cstdint>

#if defined(CUDAMLP_BLAS_BLIS)
#include <blis.h>  // declares BLIS's CBLAS too
#elif defined(CUDAMLP_BLAS_OPENBLAS)
#include <cblas.h>
#else
#error "define CUDAMLP_BLAS_OPENBLAS or CUDAMLP_BLAS_BLIS (CMake does, from CUDAMLP_BLAS)"
#endif

namespace cudamlp::cpu {

namespace {

// A GEMM of fewer multiply-adds than this runs on the calling thread alone: waking and joining the
// other threads costs more than they save (measured on a 2-core AMD EPYC: 64x10x784 takes as long on
// 2 threads as on 1, 256x64x128 is 1.3x faster on 2). OpenBLAS's own cut-off is 4x lower.
constexpr int64_t kGemmParallelMinMacs = int64_t{1} << 20;

void set_library_threads(int threads) {
  // OpenBLAS's OpenMP build reads omp_get_max_threads() at every call (and runs single-threaded inside
  // a parallel region); BLIS keeps its own count.
  omp_set_num_threads(threads);
#if defined(CUDAMLP_BLAS_BLIS)
  bli_thread_set_num_threads(threads);
#endif
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc) {
  const int threads = omp_get_max_threads();
  const bool serial = threads > 1 && int64_t(M) * N * K < kGemmParallelMinMacs;
  if (serial) set_library_threads(1);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N,
              K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (serial) set_library_threads(threads);
}

void set_threads(int threads) { set_library_threads(threads); }

int default_threads() { return omp_get_max_threads(); }

std::string blas_description() {
#if defined(CUDAMLP_BLAS_BLIS)
  return std::string("BLIS ") + bli_info_get_version_str() + " (OpenMP, " + bli_arch_string(bli_arch_query_id()) +
         " kernels)";
#else
  // openblas_get_config() reads like "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64".
  std::string config = openblas_get_config();
  const std::string version = config.substr(0, config.find(' ', config.find(' ') + 1));
  const char* parallel = openblas_get_parallel() == 2 ? "OpenMP" : openblas_get_parallel() == 1 ? "pthreads" : "serial";
  return version + " (" + parallel + ", " + openblas_get_corename() + " kernels)";
#endif
}

}  // namespace cudamlp::cpu
