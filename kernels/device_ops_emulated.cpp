// emulated_ops(): the kernels compiled by g++ and executed by the SIMT emulator (simt_emulator.cpp).
#include <cstring>

#include "cudamlp/errors.h"
#include "device_ops_table.h"

namespace cudamlp {

namespace {

void copy(void* dst, const void* src, size_t bytes) {
  if (simt::capturing()) throw Error("simt emulator: synchronous copy during a graph capture (CUDA forbids it too)");
  std::memcpy(dst, src, bytes);
}

}  // namespace

const DeviceOps& emulated_ops() {
  static const DeviceOps ops = [] {
    DeviceOps table = kernels::make_device_ops("emulated", simt::device_alloc, simt::device_free, copy, copy, [] {});
    // No streams (every launch runs to completion before launch() returns), but graphs: recorded ops.
    table.graph_capture = [](DeviceStream*, void (*record)(void*), void* context) {
      return static_cast<DeviceGraph*>(simt::graph_capture(record, context));
    };
    table.graph_launch = [](DeviceGraph* graph, DeviceStream*) { simt::graph_launch(graph); };
    table.graph_destroy = [](DeviceGraph* graph) { simt::graph_destroy(graph); };
    return table;
  }();
  return ops;
}

}  // namespace cudamlp
