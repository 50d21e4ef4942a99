// The backend interface: everything that computes. `reference` (host/reference) is the oracle, plain
// loops in double; the fast `cpu` and `gpu` backends of later work implement the same interface, and the
// trainer, CLI and tests never ask which one they hold.
//
// A backend owns the whole training step (gather the batch, forward, softmax-xent, backward, update) so
// that a GPU backend can keep everything on the device. The phases are also callable one by one, so
// tests compare every backend with the reference phase by phase.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cudamlp/dataset.h"
#include "cudamlp/model.h"

namespace cudamlp {

struct SgdOptions {
  float lr = 0.1f;        // learning rate
  float momentum = 0.0f;  // PyTorch semantics: v = momentum * v + g; w -= lr * v (v starts at zero)
};

// Metrics of one batch: mean cross-entropy over its samples and how many were classified right.
struct BatchStats {
  double loss = 0.0;
  int64_t correct = 0;
  int64_t count = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // Copies the parameters in and zeroes the momentum buffers.
  virtual void set_model(const Mlp& model) = 0;
  virtual Mlp model() const = 0;

  // The training set, kept where the backend computes. `data` must outlive the backend's use of it
  // only until this call returns.
  virtual void set_training_data(const Dataset& data) = 0;

  // --- the phases of one training step, in order ---
  // Gathers samples `indices` of the training set (pixels scaled by scale_pixel) and runs the layers.
  virtual void forward(std::span<const int64_t> indices) = 0;
  // Softmax + cross-entropy of the last forward's logits against its labels; keeps dLoss/dLogits.
  virtual BatchStats loss() = 0;
  // Gradients of the batch's mean loss with respect to every weight and bias.
  virtual void backward() = 0;
  // The last backward's gradients, shaped like the model.
  virtual Mlp gradients() const = 0;
  // One SGD (with momentum) update from the last backward's gradients.
  virtual void update(const SgdOptions& sgd) = 0;

  // forward, loss, backward, update. A backend may override it with something faster that does the same.
  virtual BatchStats train_step(std::span<const int64_t> indices, const SgdOptions& sgd);

  // Inference: x is [n, D] (already scaled), probs is [n, C] softmax probabilities.
  virtual void predict(const float* x, int64_t n, float* probs) = 0;
};

// Device names accepted by --device, and what each means in this build.
//   reference: the oracle (always built).  cpu, gpu: fast backends (UsageError while not built).
//   auto: the fastest backend that is built and usable here.
std::unique_ptr<Backend> make_backend(const std::string& device);

}  // namespace cudamlp
