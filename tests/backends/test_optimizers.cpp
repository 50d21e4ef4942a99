// The optimizers' updates, the twins of every backend against the reference: cpu::optimizer_update and
// the kernels' (through the DeviceOps table, on the SIMT emulator and, with a GPU, on the GPU) against
// reference::optimizer_update, for every optimizer case of cudamlp verify (op_checks.h's
// optimizer_cases: SGD plain, with momentum, Nesterov and weight decay, Adam, Adam with decay, AdamW)
// over awkward sizes and three steps (so the slots carry state from one step into the next), through the
// very checks `cudamlp verify` runs (verify::check_optimizer_update). A new optimizer adds its cases there.
//
// Tolerance (error_model.h, kUpdateUlps): the reference computes in double and rounds each stored value
// once; the float backends round every intermediate. The operands of an update are the value before,
// the change and the gradient, so each result may differ by a few ulps of |before| + |change| + |g|.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backend_comparison.h"
#include "cudamlp/gpu_info.h"
#include "device_op_runner.h"
#include "device_ops.h"
#include "op_checks.h"
#include "test_helpers.h"
#if CUDAMLP_HAVE_CPU_BACKEND
#include "cpu_op_runner.h"
#endif

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

// Every optimizer case, size and tensor kind (weights decay, biases do not) on `ops`: each output (w and
// every slot whose value is specified) within the error model after every step.
// max_size: the emulator under a sanitizer skips the largest size (minutes there; the small sizes reach
// the same grid-stride code).
void expect_updates_match_reference(verify::OpRunner& ops, int64_t max_size = INT64_MAX) {
  for (const verify::OptimizerCase& c : verify::optimizer_cases())
    for (const int64_t n : verify::kUpdateSizes) {
      if (n > max_size) continue;
      for (const bool decay : {true, false})
        for (const verify::Comparison& row : verify::check_optimizer_update(ops, c, n, decay))
          ASSERT_TRUE(passed(row)) << ops.name();
    }
}

}  // namespace

TEST(OptimizerUpdate, CpuMatchesTheReferenceOnAwkwardSizes) {
#if CUDAMLP_HAVE_CPU_BACKEND
  expect_updates_match_reference(*verify::make_cpu_op_runner());
#else
  GTEST_SKIP() << "this build has no cpu backend";
#endif
}

class OptimizerUpdateOnDevice : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (std::string(GetParam()) == "simt") {
      ops = &emulated_ops();
      return;
    }
    const GpuInfo gpu = query_gpu();
    if (!gpu.usable) GTEST_SKIP() << "no GPU to run on: " << gpu.description;
    ops = cuda_ops();
  }
  const DeviceOps* ops = nullptr;
};

TEST_P(OptimizerUpdateOnDevice, MatchesTheReferenceOnAwkwardSizesReadingTheLearningRateFromTheDevice) {
  // The device runner hands the kernel the step's values through device memory, as a replayed CUDA graph does.
  const auto runner = verify::make_device_op_runner(*ops, GetParam(), GemmEngine::kCustom);
  expect_updates_match_reference(*runner, kUnderSanitizer ? 1000 : INT64_MAX);
}

INSTANTIATE_TEST_SUITE_P(Emulated, OptimizerUpdateOnDevice, ::testing::Values("simt"));
INSTANTIATE_TEST_SUITE_P(Gpu, OptimizerUpdateOnDevice, ::testing::Values("cuda"));
