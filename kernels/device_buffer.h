// DeviceBuffer: a device allocation owned through a DeviceOps table (either executor), freed when it dies;
// DeviceArray<T>: a typed one, filled from and read back to the host (what tests and benchmarks use).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "device_ops.h"

namespace cudamlp {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceOps& ops, size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  template <typename T>
  T* as() const { return static_cast<T*>(pointer_); }
  size_t bytes() const { return bytes_; }

 private:
  void release() noexcept;  // frees the memory, if any; never throws (see device_buffer.cpp)
  const DeviceOps* ops_ = nullptr;
  void* pointer_ = nullptr;
  size_t bytes_ = 0;
};

// n T in device memory.
template <typename T>
class DeviceArray {
 public:
  DeviceArray(const DeviceOps& ops, size_t n) : ops_(&ops), n_(n), buffer_(ops, n * sizeof(T)) {}
  DeviceArray(const DeviceOps& ops, std::span<const T> values) : DeviceArray(ops, values.size()) {
    ops_->to_device(get(), values.data(), values.size_bytes());
  }
  DeviceArray(const DeviceOps& ops, const std::vector<T>& values) : DeviceArray(ops, std::span<const T>(values)) {}
  T* get() const { return buffer_.as<T>(); }
  std::vector<T> values() const {  // waits for the queued work, then copies
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

}  // namespace cudamlp
