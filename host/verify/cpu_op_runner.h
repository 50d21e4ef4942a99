// The cpu backend's ops as an OpRunner (built with the cpu backend only).
#pragma once

#include <memory>

#include "op_runner.h"

namespace cudamlp::verify {

std::unique_ptr<OpRunner> make_cpu_op_runner();

}  // namespace cudamlp::verify
