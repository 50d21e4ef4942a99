// epoch_order: the epoch's sample order computed on the device with Thrust: order = [0, N) sorted by the
// keys splitmix64_at(epoch_seed, i) (shuffle_key.h), the same permutation shuffled_indices() makes on
// the host; or [0, N) in file order. Thrust runs on the CUDA system (nvcc) or its CPP system (g++).
//   order: [N] int64   keys: [N] uint64 scratch
// Included by device_ops_cuda.cu and epoch_order_emulated.cpp only: Thrust's headers pull in CUDA's own
// dim3 and launch variables, which must not meet simt.h's emulated ones in one translation unit.
#pragma once

#include <thrust/sequence.h>
#include <thrust/sort.h>
#include <thrust/tabulate.h>

#include <exception>
#include <string>

#include "cudamlp/errors.h"
#include "cudamlp/shuffle_key.h"
#include "epoch_order.h"

#if defined(__CUDACC__)
#include <thrust/system/cuda/execution_policy.h>

#include "simt.h"  // CUDAMLP_CUDA_CHECK
#else
#include <thrust/system/cpp/execution_policy.h>
#endif

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

struct ShuffleKey {
  uint64_t epoch_seed;
  CUDAMLP_HOST_DEVICE uint64_t operator()(int64_t i) const { return splitmix64_at(epoch_seed, uint64_t(i)); }
};

void epoch_order(int64_t* order, uint64_t* keys, int64_t n, uint64_t epoch_seed, bool shuffle, DeviceStream* stream) {
#if defined(__CUDACC__)
  // A fault left by an earlier kernel is sticky and would surface in the first Thrust call below: report
  // it as what it is first.
  const auto cuda_stream = reinterpret_cast<cudaStream_t>(stream);
  CUDAMLP_CUDA_CHECK(cudaStreamSynchronize(cuda_stream));
  const auto policy = thrust::cuda::par.on(cuda_stream);
#else
  const auto policy = thrust::cpp::par;
  (void)stream;
#endif
  const char* call = "thrust::sequence";
  try {
    thrust::sequence(policy, order, order + n);
    if (!shuffle) return;
    call = "thrust::tabulate";
    thrust::tabulate(policy, keys, keys + n, ShuffleKey{epoch_seed});
    call = "thrust::stable_sort_by_key";
    thrust::stable_sort_by_key(policy, keys, keys + n, order);  // stable: equal keys keep index order
  } catch (const std::exception& e) {
    throw Error(std::string(call) + " (the epoch order of " + std::to_string(n) + " samples, " + __FILE__ +
                ") failed: " + e.what());
  }
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
