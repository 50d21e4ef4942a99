// The phases of one training step, one by one: the test-facing side of a backend. The trainer never
// calls these (it calls Backend::train_batch); the op-by-op tests do, to compare every backend with the
// reference phase by phase. Every backend implements both Backend and StepPhases.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cudamlp/backend.h"
#include "cudamlp/optimizer.h"

namespace cudamlp {

class StepPhases {
 public:
  virtual ~StepPhases() = default;
  // Gathers training samples `indices` (pixels scaled by scale_pixel) and runs the layers, with the
  // regularization's dropout after each hidden layer's ReLU: its masks are those of optimizer step
  // step.step for samples at positions first, first + 1, ... of the epoch's order (regularization.h).
  virtual void forward(std::span<const int64_t> indices, const StepValues& step, int64_t first) = 0;
  // The same as step 0 at position 0 (without dropout: any step).
  void forward(std::span<const int64_t> indices) { forward(indices, StepValues{}, 0); }
  // Softmax + cross-entropy of the last forward's logits against its labels; keeps dLoss/dLogits.
  virtual BatchStats loss() = 0;
  // Gradients of the batch's mean loss with respect to every parameter.
  virtual void backward() = 0;
  // The last backward's gradients, flat in the parameters' layout.
  virtual std::vector<float> gradients() const = 0;
  // The optimizer's update of every parameter from the last backward's gradients.
  virtual void update(const StepValues& step) = 0;
};

}  // namespace cudamlp
