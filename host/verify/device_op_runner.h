// The gpu backend's ops (the DeviceOps table: a real GPU or the SIMT emulator) as an OpRunner.
#pragma once

#include <memory>
#include <string>

#include "device_ops.h"
#include "op_runner.h"

namespace cudamlp::verify {

// name: "gpu" or "gpu-emulated"; the dense ops' matrix products by `engine`.
std::unique_ptr<OpRunner> make_device_op_runner(const DeviceOps& ops, const std::string& name, GemmEngine engine);

}  // namespace cudamlp::verify
