// OptimizerSlots: the operands of an optimizer's update besides the parameters and the gradients, as the
// backends' update ops take them (reference_ops.h, cpu_ops.h, kernels/optimizer_update.cuh).
#pragma once

#include <cstdint>

namespace cudamlp {

// The most slots an optimizer keeps (room for two: Adam's exp_avg and exp_avg_sq).
inline constexpr int kMaxOptimizerSlots = 2;

// A backend's slot buffers (host or device memory) in optimizer_slots() order, unused entries null.
// Passed by value, to a GPU kernel too.
struct OptimizerSlots {
  float* slot[kMaxOptimizerSlots] = {};
};

// The same slots from `offset` on: where one parameter tensor's values lie in each.
inline OptimizerSlots offset_slots(OptimizerSlots slots, int64_t offset) {
  for (float*& slot : slots.slot)
    if (slot != nullptr) slot += offset;
  return slots;
}

}  // namespace cudamlp
