// DeviceBuffer: a device allocation owned through a DeviceOps table (either executor), freed when it dies.
#pragma once

#include <cstddef>

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

}  // namespace cudamlp
