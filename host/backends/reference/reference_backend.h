// The `reference` backend: the oracle. Every op is a plain loop from ops.h; buffers are float32 like
// every backend's, every sum is accumulated in double.
#pragma once

#include <vector>

#include "cudamlp/backend.h"

namespace cudamlp {

class ReferenceBackend final : public Backend {
 public:
  explicit ReferenceBackend(Communicator* communicator = nullptr) : Backend(communicator) {}
  std::string name() const override { return "reference"; }
  void set_model(const Mlp& model) override;
  Mlp model() const override { return model_; }
  void set_training_data(const Dataset& data) override { data_ = data; }

  void forward(std::span<const int64_t> indices) override;
  BatchStats loss() override;
  void backward() override;
  Mlp gradients() const override { return gradients_; }
  void sum_gradients(float scale) override;
  void update(const SgdOptions& sgd) override;
  Mlp optimizer_state() const override { return velocity_; }
  void set_optimizer_state(const Mlp& velocity) override;

  void predict(const float* x, int64_t n, float* probs) override;

 private:
  Mlp model_;
  Mlp gradients_;  // same shapes as model_
  Mlp velocity_;   // momentum buffers, same shapes as model_
  std::vector<float> packed_gradients_;  // sum_gradients' buffer for the collective
  Dataset data_;   // the training set

  // State of the current step. activations_[0] is the input x [B, D]; activations_[l + 1] is layer l's
  // output [B, sizes[l + 1]] (after ReLU for hidden layers; the logits for the last).
  int64_t batch_ = 0;
  std::vector<std::vector<float>> activations_;
  std::vector<uint8_t> labels_;   // [B]
  std::vector<float> probs_;      // [B, C]
  std::vector<float> dlogits_;    // [B, C]
};

}  // namespace cudamlp
