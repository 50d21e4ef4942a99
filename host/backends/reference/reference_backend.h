// The `reference` backend: the oracle. Every op is a plain loop from reference_ops.h; buffers are float32
// like every backend's, every sum is accumulated in double. The buffers, the epoch and the training step
// around the ops are HostBackend's (host_backend.h).
#pragma once

#include <vector>

#include "host_backend.h"

namespace cudamlp {

class ReferenceBackend final : public HostBackend {
 public:
  explicit ReferenceBackend(Communicator* communicator = nullptr) : HostBackend(communicator) {}
  std::string name() const override { return "reference"; }

  using StepPhases::forward;
  void forward(std::span<const int64_t> indices, const StepValues& step, int64_t first) override;
  BatchStats loss() override;
  void backward() override;
  void update(const StepValues& step) override;

  void predict(const float* x, int64_t n, float* probs) override;

 private:
  void model_changed() override { batch_ = 0; }

  // State of the current step. activations_[0] is the input x [B, D]; activations_[l + 1] is layer l's
  // output [B, sizes[l + 1]] (after its activation; the logits for the last).
  int64_t batch_ = 0;
  std::vector<std::vector<float>> activations_;
  std::vector<uint8_t> labels_;   // [B]
  std::vector<float> probs_;      // [B, C]
  std::vector<float> dlogits_;    // [B, C]
};

}  // namespace cudamlp
