// emulated_ops(): the kernels compiled by g++ and executed by the SIMT emulator (simt_emulator.cpp).
#include <cstring>

#include "device_ops_table.h"

namespace cudamlp {

const DeviceOps& emulated_ops() {
  static const DeviceOps ops = kernels::make_device_ops(
      "emulated", simt::device_alloc, simt::device_free,
      [](void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); },
      [](void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }, [] {});
  // No streams or graphs: every launch runs to completion before launch() returns.
  return ops;
}

}  // namespace cudamlp
