// DeviceBuffer; see device_buffer.h.
#include "device_buffer.h"

#include <algorithm>
#include <utility>

namespace cudamlp {

DeviceBuffer::DeviceBuffer(const DeviceOps& ops, size_t bytes)
    : ops_(&ops), pointer_(ops.alloc(std::max<size_t>(bytes, 1))), bytes_(bytes) {}

// A free that fails must not throw out of a destructor: that ends the process (std::terminate) and hides
// the error being reported. On a GPU it fails after a kernel fault, which is sticky: cudaFree returns the
// fault again, while the exception that reports it is already unwinding through this destructor. A
// sticky error also fails every later CUDA call, so nothing is hidden by ignoring it here.
void DeviceBuffer::release() noexcept {
  if (pointer_ == nullptr) return;
  try {
    ops_->free(pointer_);
  } catch (...) {
  }
  pointer_ = nullptr;
}

DeviceBuffer::~DeviceBuffer() { release(); }

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ops_(other.ops_), pointer_(std::exchange(other.pointer_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    ops_ = other.ops_;
    pointer_ = std::exchange(other.pointer_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

}  // namespace cudamlp
