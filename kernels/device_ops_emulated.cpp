// emulated_ops(): the kernels compiled by g++ and executed by the SIMT emulator (simt_emulator.cpp).
#include <algorithm>
#include <cstring>
#include <span>

#include "cudamlp/communicator.h"
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
    table.graph_capture = [](void*, void (*record)(void*), void* context) { return simt::graph_capture(record, context); };
    table.graph_launch = [](void* graph, void*) { simt::graph_launch(graph); };
    table.graph_destroy = simt::graph_destroy;
    // Device memory is host memory: the host communicator sums it directly.
    table.comm_create = [](Communicator& host) -> void* { return &host; };
    table.comm_destroy = [](void*) {};
    table.sum = [](float* values, int64_t n, float scale, void* comm, void*) {
      if (simt::capturing()) throw Error("simt emulator: a gradient sum cannot be part of a graph");
      std::span<float> all(values, size_t(n));
      if (scale == 0.0f) std::fill(all.begin(), all.end(), 0.0f);
      if (scale != 0.0f && scale != 1.0f)
        for (float& value : all) value *= scale;
      static_cast<Communicator*>(comm)->sum(all);
    };
    return table;
  }();
  return ops;
}

}  // namespace cudamlp
