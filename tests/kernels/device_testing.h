// What the tests of the GPU kernels share: device arrays through a DeviceOps table (either executor),
// and the error bound of a float dot product against an exact one.
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

// A device array of n T owned through the executor's alloc/free (a typed DeviceBuffer), filled from
// and read back to the host.
template <typename T>
class DeviceArray {
 public:
  DeviceArray(const DeviceOps& ops, size_t n) : ops_(&ops), n_(n), buffer_(ops, n * sizeof(T)) {}
  DeviceArray(const DeviceOps& ops, const std::vector<T>& values) : DeviceArray(ops, values.size()) {
    ops_->to_device(get(), values.data(), values.size() * sizeof(T));
  }
  T* get() const { return buffer_.as<T>(); }
  std::vector<T> values() const {
    std::vector<T> host(n_);
    ops_->synchronize();
    ops_->to_host(host.data(), get(), n_ * sizeof(T));
    return host;
  }

 private:
  const DeviceOps* ops_;
  size_t n_;
  DeviceBuffer buffer_;
};

}  // namespace cudamlp::testing
