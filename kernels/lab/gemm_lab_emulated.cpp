// The GEMM lab on the SIMT emulator (see gemm_lab.h), and the variants' names.
#include "gemm_lab_table.h"

namespace cudamlp::lab {

const char* gemm_variant_name(int variant) {
  static const char* const kNames[] = {"cublas", "1-tiled-64", "2-tiled-128-double-buffered", "3-tiled-128-float4",
                                       "4-tiled-64-padded"};
  return variant >= 0 && variant <= kLastGemmVariant ? kNames[variant] : "unknown";
}

const GemmLab& emulated_gemm_lab() {
  static const GemmLab lab{&emulated_ops(), kernels::lab::lab_gemm};
  return lab;
}

}  // namespace cudamlp::lab
