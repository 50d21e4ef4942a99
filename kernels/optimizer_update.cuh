// optimizer_update: the optimizer's update of one parameter tensor, an elementwise pass (optimizer.h for
// the rules), reading this step's values (learning rate, step number) from device memory so that a
// captured CUDA graph replays any learning-rate schedule unchanged.
//   sgd_update:  v = momentum v + g;  w -= lr v   (momentum 0: v = g, so w -= lr g)
//   sgd_decay_update: with weight decay and/or Nesterov, g' = g + wd w; v = momentum v + g';
//                w -= lr (g' + momentum v) with Nesterov, else w -= lr v (apart, so that the plain
//                update keeps its rounding)
//   adam_update: Adam, and with `decoupled` AdamW: m = b1 m + (1 - b1) g; s = b2 s + (1 - b2) g^2;
//                w -= (lr / (1 - b1^t)) m / (sqrt(s) / sqrt(1 - b2^t) + eps), t = step + 1; the two bias
//                corrections in double, as PyTorch computes them (Python floats), once per thread
//   set_step_values: *step = values, queued in stream order before the step that reads them.
// Grid-stride loops: any n, any grid.   w, g, v, m, s: [n]   step: [1] in device memory
#pragma once

#include <algorithm>
#include <cmath>

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

__global__ void sgd_decay_update_kernel(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ v,
                                        int64_t n, const StepValues* __restrict__ step, float momentum, bool nesterov,
                                        float weight_decay) {
  const float lr = step->lr;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float grad = g[i] + weight_decay * w[i];
    const float velocity = momentum * v[i] + grad;
    v[i] = velocity;
    w[i] -= lr * (nesterov ? grad + momentum * velocity : velocity);
  }
}

__global__ void adam_update_kernel(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ m,
                                   float* __restrict__ s, int64_t n, const StepValues* __restrict__ step, float beta1,
                                   float beta2, float eps, float weight_decay, bool decoupled) {
  const double lr = step->lr;
  const double t = double(step->step) + 1.0;
  const float step_size = float(lr / (1.0 - pow(double(beta1), t)));
  const float correction2_sqrt = float(sqrt(1.0 - pow(double(beta2), t)));
  const float keep = decoupled ? float(1.0 - lr * double(weight_decay)) : 1.0f;
  const float coupled_decay = decoupled ? 0.0f : weight_decay;
  const float one_minus_beta1 = float(1.0 - double(beta1)), one_minus_beta2 = float(1.0 - double(beta2));
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float grad = g[i] + coupled_decay * w[i];
    const float first = beta1 * m[i] + one_minus_beta1 * grad;
    const float second = beta2 * s[i] + one_minus_beta2 * grad * grad;
    m[i] = first;
    s[i] = second;
    w[i] = w[i] * keep - step_size * first / (sqrtf(second) / correction2_sqrt + eps);
  }
}

__global__ void set_step_values_kernel(StepValues* step, StepValues values) {
  if (threadIdx.x == 0) *step = values;
}

// The update of config's optimizer over the n parameters w of one tensor from gradients g, with its
// slots; `decay`: the tensor takes config's weight decay (weights do, biases do not).
inline void optimizer_update(const OptimizerConfig& config, float* w, const float* g, OptimizerSlots slots, int64_t n,
                             const StepValues* step, bool decay, simt::Stream stream) {
  constexpr int kThreads = 256;
  const dim3 blocks(unsigned(std::min<int64_t>((n + kThreads - 1) / kThreads, 1024)));
  const float weight_decay = decay ? config.weight_decay : 0.0f;
  switch (config.kind) {
    case OptimizerKind::kSgd:
      if (weight_decay == 0.0f && !config.nesterov)
        return simt::launch(sgd_update_kernel, blocks, dim3(kThreads), 0, stream, w, g, slots.slot[0], n, step,
                            config.momentum);
      return simt::launch(sgd_decay_update_kernel, blocks, dim3(kThreads), 0, stream, w, g, slots.slot[0], n, step,
                          config.momentum, config.nesterov, weight_decay);
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW:
      return simt::launch(adam_update_kernel, blocks, dim3(kThreads), 0, stream, w, g, slots.slot[0], slots.slot[1], n,
                          step, config.beta1, config.beta2, config.eps, weight_decay,
                          config.kind == OptimizerKind::kAdamW);
  }
}

inline void set_step_values(StepValues* step, StepValues values, simt::Stream stream) {
  simt::launch(set_step_values_kernel, dim3(1), dim3(32), 0, stream, step, values);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
