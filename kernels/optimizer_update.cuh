// optimizer_update: the optimizer's update of every parameter, one elementwise pass over the flat buffer
// (optimizer.h), reading this step's values (learning rate, step number) from device memory so that a
// captured CUDA graph replays any learning-rate schedule unchanged.
//   sgd_update: SGD with PyTorch's momentum, v = momentum * v + g;  w -= lr * v   (momentum 0: v = g,
//               so w -= lr * g)
//   set_step_values: *step = values, queued in stream order before the step that reads them.
// Grid-stride loops: any n, any grid.   w, g, v: [n]   step: [1] in device memory
#pragma once

#include <algorithm>

#include "cudamlp/optimizer.h"
#include "optimizer_slots.h"
#include "simt.h"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

__global__ void sgd_update_kernel(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ v,
                                  int64_t n, const StepValues* __restrict__ step, float momentum) {
  const float lr = step->lr;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float velocity = momentum * v[i] + g[i];
    v[i] = velocity;
    w[i] -= lr * velocity;
  }
}

__global__ void set_step_values_kernel(StepValues* step, StepValues values) {
  if (threadIdx.x == 0) *step = values;
}

inline void sgd_update(float* w, const float* g, float* v, int64_t n, const StepValues* step, float momentum,
                       simt::Stream stream) {
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 1024);
  simt::launch(sgd_update_kernel, dim3(unsigned(blocks)), dim3(kThreads), 0, stream, w, g, v, n, step, momentum);
}

// The update of config's optimizer over n parameters w from gradients g, with its slots.
inline void optimizer_update(const OptimizerConfig& config, float* w, const float* g, OptimizerSlots slots, int64_t n,
                             const StepValues* step, simt::Stream stream) {
  switch (config.kind) {
    case OptimizerKind::kSgd: return sgd_update(w, g, slots.slot[0], n, step, config.momentum, stream);
  }
}

inline void set_step_values(StepValues* step, StepValues values, simt::Stream stream) {
  simt::launch(set_step_values_kernel, dim3(1), dim3(32), 0, stream, step, values);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
