// How the cpu backend's passes use the cores: each pass is a plain loop over a range of elements (or
// rows), compiled once per vector ISA, and parallel_for splits the whole range into one contiguous
// piece per OpenMP thread when it is large enough to pay for waking them.
#pragma once

#include <omp.h>

#include <cstdint>

// CUDAMLP_VECTOR_CLONES before a loop function compiles it for AVX-512, AVX2 and baseline x86-64; the
// loader picks the best the CPU has (GCC/Clang function multi-versioning, resolved once by ifunc). A
// build without -march flags thus still divides 16 pixels at a time on an AVX-512 machine.
// Under ThreadSanitizer the ifunc resolvers are instrumented but run inside the loader, before the TSan
// runtime is up, and crash the program at startup: a TSan build compiles the baseline clone only.
#if defined(__SANITIZE_THREAD__)
#define CUDAMLP_NO_VECTOR_CLONES 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CUDAMLP_NO_VECTOR_CLONES 1
#endif
#endif
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__) && !defined(CUDAMLP_NO_VECTOR_CLONES)
#define CUDAMLP_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CUDAMLP_VECTOR_CLONES
#endif

namespace cudamlp::cpu {

// A pass goes parallel from this much work on (elements touched; an exp counts as several): waking
// the other threads costs about a microsecond, as much as a pass over ~10^4 floats.
inline constexpr int64_t kParallelMinWork = 1 << 15;

// Runs body(begin, end) over [0, n), split into one contiguous range per OpenMP thread when `work`
// reaches kParallelMinWork, else on the calling thread alone.
template <typename Body>
void parallel_for(int64_t n, int64_t work, const Body& body) {
  if (work < kParallelMinWork || n < 2 || omp_get_max_threads() == 1) {
    body(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t thread = omp_get_thread_num(), threads = omp_get_num_threads();
    body(n * thread / threads, n * (thread + 1) / threads);
  }
}

}  // namespace cudamlp::cpu
