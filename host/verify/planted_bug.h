// A planted bug, for testing that `cudamlp verify` catches one: in a build configured with
// CUDAMLP_PLANTED_BUG=ON (the ci and asan presets: test builds; OFF for users' builds), the environment
// variable CUDAMLP_PLANTED_BUG names an op (gather_batch, augment_batch, dense_forward,
// dense_backward_weights, dense_backward_input, dropout_forward, softmax_xent, optimizer_update) whose
// results the runners of verify_device (verify.h) scale by 1 + kPlantedBugSize: the backend is left
// alone, verify's view of it is wrong. Without the option the variable is ignored.
#pragma once

#include <memory>
#include <string>

#include "op_runner.h"

namespace cudamlp::verify {

inline constexpr float kPlantedBugSize = 1e-3f;  // relative

// Whether this build has the planted bug (CUDAMLP_PLANTED_BUG=ON).
bool planted_bug_built();
// The op CUDAMLP_PLANTED_BUG names in a build that has it; empty otherwise. Throws UsageError for a
// name that is not an op.
std::string planted_bug_op();
// runner, or with a planted bug, runner with that op's results perturbed.
std::unique_ptr<OpRunner> with_planted_bug(std::unique_ptr<OpRunner> runner);

}  // namespace cudamlp::verify
