// See cuda_check.h.
#include "cuda_check.h"

#include <string>

#include "cudamlp/errors.h"

namespace cudamlp {

void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw Error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
              cudaGetErrorString(status));
}

}  // namespace cudamlp
