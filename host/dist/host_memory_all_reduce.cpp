// make_host_memory_all_reduce(): the emulated GPU's gradient sums (device_all_reduce.h).
#include <algorithm>
#include <span>

#include "cudamlp/communicator.h"
#include "device_all_reduce.h"

namespace cudamlp {

namespace {

// Never part of a graph capture: the gpu backend runs data-parallel steps eagerly.
class HostMemoryAllReduce final : public DeviceAllReduce {
 public:
  explicit HostMemoryAllReduce(Communicator& host) : host_(host) {}

  void sum(float* values, int64_t n, float scale, DeviceStream* /*stream: the emulator's launches are done*/) override {
    std::span<float> all(values, size_t(n));
    if (scale == 0.0f) std::fill(all.begin(), all.end(), 0.0f);
    if (scale != 0.0f && scale != 1.0f)
      for (float& value : all) value *= scale;
    host_.sum(all);
  }

 private:
  Communicator& host_;
};

}  // namespace

std::unique_ptr<DeviceAllReduce> make_host_memory_all_reduce(Communicator& host) {
  return std::make_unique<HostMemoryAllReduce>(host);
}

}  // namespace cudamlp
