// query_gpu() for builds without CUDA (nvcc was not found at configure time).
#include "cudamlp/gpu_info.h"

namespace cudamlp {

GpuInfo query_gpu() {
  return {false, false, "this cudamlp was built without CUDA (nvcc was not found when it was configured)"};
}

}  // namespace cudamlp
