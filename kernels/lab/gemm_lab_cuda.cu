// The GEMM lab on the GPU (see gemm_lab.h).
#include "gemm_lab_table.h"

namespace cudamlp::lab {

const GemmLab* cuda_gemm_lab() {
  static const GemmLab lab{cuda_ops(), kernels::lab::lab_gemm};
  return &lab;
}

}  // namespace cudamlp::lab
