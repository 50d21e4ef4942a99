// cuda_ops() in a build without CUDA: there is no real GPU executor.
#include "device_ops.h"

namespace cudamlp {

const DeviceOps* cuda_ops() { return nullptr; }

}  // namespace cudamlp
