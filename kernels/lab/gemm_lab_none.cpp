// The GEMM lab in a build without CUDA: no GPU variant (see gemm_lab.h).
#include "gemm_lab.h"

namespace cudamlp::lab {

const GemmLab* cuda_gemm_lab() { return nullptr; }

}  // namespace cudamlp::lab
