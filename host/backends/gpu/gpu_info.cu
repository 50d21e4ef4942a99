// query_gpu() for builds with CUDA: asks the CUDA runtime for device 0.
#include <cuda_runtime.h>

#include <cstdio>

#include "cudamlp/gpu_info.h"

namespace cudamlp {

GpuInfo query_gpu() {
  GpuInfo info;
  info.built_with_cuda = true;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    info.description = std::string("no usable CUDA GPU (cudaGetDeviceCount: ") + cudaGetErrorString(status) + ")";
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return info;
  }
  if (count == 0) {
    info.description = "no CUDA GPU found (cudaGetDeviceCount returned 0)";
    return info;
  }
  cudaDeviceProp prop{};
  const cudaError_t prop_status = cudaGetDeviceProperties(&prop, 0);
  if (prop_status != cudaSuccess) {
    info.description = std::string("CUDA GPU 0 did not answer (cudaGetDeviceProperties: ") +
                       cudaGetErrorString(prop_status) + ")";
    return info;
  }
  char text[256];
  std::snprintf(text, sizeof text, "%s (sm_%d%d, %.1f GiB)", prop.name, prop.major, prop.minor,
                static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  info.usable = true;
  info.description = text;
  return info;
}

}  // namespace cudamlp
