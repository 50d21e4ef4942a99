// Whether this build has CUDA and whether a usable CUDA GPU is present. Without a driver the CUDA
// runtime answers "CUDA driver version is insufficient for CUDA runtime version": that means no GPU.
#pragma once

#include <string>

namespace cudamlp {

struct GpuInfo {
  bool built_with_cuda = false;
  bool usable = false;      // built with CUDA and at least one device answers
  std::string description;  // "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)" or why there is none
};

GpuInfo query_gpu();

}  // namespace cudamlp
