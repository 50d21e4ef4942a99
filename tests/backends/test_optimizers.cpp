// The optimizers' updates, the twins of every backend against the reference: cpu::optimizer_update and
// the kernels' (through the DeviceOps table, on the SIMT emulator and, with a GPU, on the GPU) against
// reference::optimizer_update, for every optimizer case below, over awkward sizes and two steps (so the
// slots carry state from one step into the next). A new optimizer adds its cases to kOptimizerCases.
//
// Tolerance: the reference computes in double and rounds each stored value once; the float backends
// round every intermediate. The operands of an update are the value before, the change and the
// gradient, so each result may differ by a few ulps of |before| + |change| + |g|.
#include <gtest/gtest.h>

#include <cfloat>
#include <cstdint>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "backend_comparison.h"
#include "cudamlp/gpu_info.h"
#include "cudamlp/optimizer.h"
#include "optimizer_slots.h"
#include "device_ops.h"
#include "device_testing.h"
#include "reference_ops.h"
#include "test_helpers.h"
#if CUDAMLP_HAVE_CPU_BACKEND
#include "cpu_ops.h"
#endif

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

constexpr double kUpdateUlps = 4;

struct OptimizerCase {
  const char* name;
  OptimizerConfig config;
  bool slots_defined = true;  // false: what the slots hold after the update is unspecified
};
const std::vector<OptimizerCase> kOptimizerCases = {
    // Momentum 0 keeps no momentum buffer in PyTorch: the cpu backend leaves it alone, the reference and
    // the kernels write g there. Only w is specified.
    {"sgd", {OptimizerKind::kSgd, 0.0f}, false},
    {"sgd-momentum", {OptimizerKind::kSgd, 0.9f}},
    {"sgd-nesterov-decay", {.kind = OptimizerKind::kSgd, .momentum = 0.9f, .nesterov = true, .weight_decay = 0.01f}},
    {"sgd-momentum-decay", {.kind = OptimizerKind::kSgd, .momentum = 0.5f, .weight_decay = 0.1f}},
    {"adam", {.kind = OptimizerKind::kAdam}},
    {"adam-decay", {.kind = OptimizerKind::kAdam, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f, .weight_decay = 0.05f}},
    {"adamw", {.kind = OptimizerKind::kAdamW, .weight_decay = 0.1f}},
};

// Sizes below, at and past a vector width and the cpu backend's parallel threshold.
const std::vector<int64_t> kSizes = {1, 7, 16, 31, 33, 1000, 784 * 129 + 3};

// Parameters, gradients and slots of one update problem.
struct UpdateState {
  std::vector<float> w, g;
  std::vector<std::vector<float>> slots;  // optimizer_slots(config) order
};

UpdateState random_state(const OptimizerConfig& config, int64_t n, uint64_t seed) {
  UpdateState state{random_floats(size_t(n), -1, 1, seed), random_floats(size_t(n), -1, 1, seed + 1), {}};
  // Non-negative slots: a valid state of every optimizer (Adam's second moment included).
  for (size_t s = 0; s < optimizer_slots(config).size(); ++s)
    state.slots.push_back(absolute(random_floats(size_t(n), -1, 1, seed + 2 + s)));
  return state;
}

OptimizerSlots pointers(std::vector<std::vector<float>>& slots) {
  OptimizerSlots result;
  for (size_t s = 0; s < slots.size(); ++s) result.slot[s] = slots[s].data();
  return result;
}

::testing::AssertionResult near_update(const std::vector<float>& got, const std::vector<float>& want,
                                       const std::vector<float>& before, const std::vector<float>& g,
                                       const std::string& what) {
  for (size_t i = 0; i < want.size(); ++i) {
    const double bound = kUpdateUlps * FLT_EPSILON *
                         (std::abs(before[i]) + std::abs(double(want[i]) - before[i]) + std::abs(g[i]));
    if (!(std::abs(double(got[i]) - want[i]) <= bound))
      return ::testing::AssertionFailure() << what << "[" << i << "]: " << got[i] << " vs reference " << want[i]
                                           << " (before " << before[i] << ", bound " << bound << ")";
  }
  return ::testing::AssertionSuccess();
}

// Two steps of `update` (a backend's optimizer_update on a state it is given) against the reference's.
// Steps 0 and 1 and a late one (Adam's bias corrections near 1), each a weight tensor (decayed) and a
// bias tensor (not).
// max_size: the emulator under a sanitizer skips the largest size (minutes there; the small sizes reach
// the same grid-stride code).
using Update = std::function<void(const OptimizerConfig&, UpdateState&, const StepValues&, bool decay)>;
void expect_updates_match_reference(const Update& update, int64_t max_size = INT64_MAX) {
  for (const OptimizerCase& c : kOptimizerCases) {
    for (const int64_t n : kSizes) {
      if (n > max_size) continue;
      for (const bool decay : {true, false}) {
      SCOPED_TRACE(std::string(c.name) + " n=" + std::to_string(n) + (decay ? " weights" : " biases"));
      UpdateState got = random_state(c.config, n, uint64_t(n)), want = got;
      for (const StepValues step : {StepValues{0.05f, 0}, StepValues{0.02f, 1}, StepValues{0.01f, 9999}}) {
        const UpdateState before = want;
        update(c.config, got, step, decay);
        reference::optimizer_update(c.config, want.w.data(), want.g.data(), pointers(want.slots), n, step, decay);
        ASSERT_TRUE(near_update(got.w, want.w, before.w, before.g, "w"));
        if (!c.slots_defined) {
          got.slots = want.slots;  // the next step starts from the same state
          continue;
        }
        for (size_t s = 0; s < want.slots.size(); ++s)
          ASSERT_TRUE(near_update(got.slots[s], want.slots[s], before.slots[s], before.g,
                                  optimizer_slots(c.config)[s]));
      }
      }
    }
  }
}

}  // namespace

TEST(OptimizerUpdate, CpuMatchesTheReferenceOnAwkwardSizes) {
#if CUDAMLP_HAVE_CPU_BACKEND
  expect_updates_match_reference([](const OptimizerConfig& config, UpdateState& state, const StepValues& step,
                                    bool decay) {
    cpu::optimizer_update(config, state.w.data(), state.g.data(), pointers(state.slots), int64_t(state.w.size()), step,
                          decay);
  });
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
  const DeviceOps& device = *ops;
  expect_updates_match_reference([&](const OptimizerConfig& config, UpdateState& state, const StepValues& step,
                                     bool decay) {
    DeviceArray<float> w(device, state.w), g(device, state.g);
    std::vector<DeviceArray<float>> slots;
    for (const std::vector<float>& slot : state.slots) slots.emplace_back(device, slot);
    OptimizerSlots slot_pointers;
    for (size_t s = 0; s < slots.size(); ++s) slot_pointers.slot[s] = slots[s].get();
    // The step's values reach the kernel through device memory, as in a replayed CUDA graph.
    DeviceArray<StepValues> values(device, 1);
    device.set_step_values(values.get(), step, nullptr);
    device.optimizer_update(config, w.get(), g.get(), slot_pointers, int64_t(state.w.size()), values.get(), decay,
                            nullptr);
    state.w = w.values();
    for (size_t s = 0; s < slots.size(); ++s) state.slots[s] = slots[s].values();
  }, kUnderSanitizer ? 1000 : INT64_MAX);
}

INSTANTIATE_TEST_SUITE_P(Emulated, OptimizerUpdateOnDevice, ::testing::Values("simt"));
INSTANTIATE_TEST_SUITE_P(Gpu, OptimizerUpdateOnDevice, ::testing::Values("cuda"));
