// `cudamlp verify`: every check of a backend against the reference (op_checks.h, step_check.h), as
// rows of one table.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "error_model.h"

namespace cudamlp::verify {

// What `--device all` checks on this machine: the GPU when one is usable, else the GPU code on the
// emulator; the cpu backend when this build has it. (Never the reference: it is what they are checked
// against.)
std::vector<std::string> devices_to_verify();

// Every op of `device` ("cpu", "gpu", "gpu-emulated") on awkward shapes, then whole training steps and a
// short training run, each against the reference; the gpu backend with each GEMM engine (our kernels,
// cuBLAS). quick: a few shapes of each. Rows are handed to `row` as they come. Throws UsageError for a
// device this build lacks or that is not a backend ("reference", "auto"), Error when there is no GPU.
void verify_device(const std::string& device, bool quick, const std::function<void(const Comparison&)>& row);

}  // namespace cudamlp::verify
