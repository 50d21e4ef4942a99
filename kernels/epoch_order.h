// epoch_order: the epoch's sample order computed on the device (definition and details: epoch_order.cuh).
#pragma once

#include <cstdint>

#include "executor.h"

namespace cudamlp {
struct DeviceStream;  // device_ops.h: a cudaStream_t on a GPU, null on the emulator
}

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

void epoch_order(int64_t* order, uint64_t* keys, int64_t n, uint64_t epoch_seed, bool shuffle, DeviceStream* stream);

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
