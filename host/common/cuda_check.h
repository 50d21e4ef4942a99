// CUDAMLP_CUDA_CHECK(call): the one check of a CUDA runtime call, for every file built with CUDA (kernels
// under nvcc, the GPU query, NCCL's set-up). A failure throws cudamlp::Error naming the call, file:line and
// CUDA's error string. Only builds with CUDA include this header (it needs cuda_runtime.h).
#pragma once

#include <cuda_runtime.h>

namespace cudamlp {

// Throws Error unless status is cudaSuccess.
void check_cuda(cudaError_t status, const char* call, const char* file, int line);

}  // namespace cudamlp

#define CUDAMLP_CUDA_CHECK(call) ::cudamlp::check_cuda((call), #call, __FILE__, __LINE__)
