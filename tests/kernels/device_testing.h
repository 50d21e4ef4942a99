// What the tests of the GPU kernels share: device arrays through a DeviceOps table (either executor,
// DeviceArray from device_buffer.h), and the error bound of a float dot product against an exact one.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <vector>

#include "device_buffer.h"
#include "device_ops.h"

namespace cudamlp::testing {

// A float dot product of K terms differs from the exact one by at most about K * u * sum|a_k b_k|
// (u = FLT_EPSILON / 2, the standard bound for recursive summation; fused multiply-adds only tighten
// it). A reference exact to double precision therefore never fails a right kernel by this bound, while
// a wrong index, a transposed operand or a lost tile changes results by O(sum|a_k b_k|) itself.
inline double dot_tolerance(int64_t K, double magnitude) {
  return double(K + 2) * (FLT_EPSILON / 2) * magnitude + 1e-30;
}

using cudamlp::DeviceArray;  // device_buffer.h

}  // namespace cudamlp::testing
