// Gradient sums over the ranks of a data-parallel run for a buffer in device memory: the gpu backend's
// all-reduce. NCCL on real GPUs (nccl_all_reduce.cpp); the host communicator itself for the emulated GPU,
// whose device memory is host memory (host_memory_all_reduce.cpp).
#pragma once

#include <cstdint>
#include <memory>

namespace cudamlp {

class Communicator;
struct DeviceStream;  // an executor's stream (kernels/device_ops.h): a cudaStream_t on a GPU, null on the emulator

class DeviceAllReduce {
 public:
  virtual ~DeviceAllReduce() = default;
  // values [n] (device memory) = the sum over the ranks of scale * values (each rank's scale applied
  // before summing), in place, after the work already queued on stream. Returns when the sum is complete;
  // gives up with Error after the host communicator's timeout.
  virtual void sum(float* values, int64_t n, float scale, DeviceStream* stream) = 0;
};

// NCCL over host's ranks, bootstrapped through host, after taking the GPU of host.local_rank(): make it
// before anything else touches the device. Throws Error in a build without NCCL.
std::unique_ptr<DeviceAllReduce> make_nccl_all_reduce(Communicator& host);

// For the emulated GPU: its device memory is host memory, so host sums it directly.
std::unique_ptr<DeviceAllReduce> make_host_memory_all_reduce(Communicator& host);

}  // namespace cudamlp
