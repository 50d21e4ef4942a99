// The `cpu` backend (--device cpu): the reference's ops computed fast on the host, from cpu_ops.h: BLAS
// SGEMM for the matrix products, vectorised OpenMP passes for the rest. Step buffers are sized once per
// batch size (the first step, or a larger batch than any before, allocates; no other step does), and the
// training set stays uint8 until a batch is gathered. The buffers, the epoch and the training step around
// the ops are HostBackend's (host_backend.h).
#pragma once

#include <vector>

#include "host_backend.h"

namespace cudamlp {

class CpuBackend final : public HostBackend {
 public:
  // threads: OpenMP and BLAS threads; 0 takes cpu::default_threads() (OMP_NUM_THREADS, else all cores).
  explicit CpuBackend(int threads = 0, Communicator* communicator = nullptr);

  std::string name() const override { return "cpu"; }
  int threads() const { return threads_; }

  using StepPhases::forward;
  void forward(std::span<const int64_t> indices, const StepValues& step, int64_t first) override;
  BatchStats loss() override;
  void backward() override;
  void update(const StepValues& step) override;

  void predict(const float* x, int64_t n, float* probs) override;

 private:
  void model_changed() override;
  // Grows the step's buffers to hold `batch` samples: the only allocation of a training step.
  void reserve_batch(int64_t batch);

  int threads_ = 1;

  // State of the current step, each buffer holding capacity_ samples of which batch_ are in use.
  // activations_[0] is the input x [B, D]; activations_[l + 1] is layer l's output [B, sizes[l + 1]]
  // (after its activation; the logits for the last).
  int64_t batch_ = 0;
  int64_t capacity_ = 0;
  std::vector<std::vector<float>> activations_;
  std::vector<uint8_t> labels_;      // [B]
  std::vector<float> probs_;         // [B, C]
  std::vector<float> dlogits_;       // [B, C]
  std::vector<float> delta_[2];      // [B, widest hidden layer]: dLoss/d(hidden output), ping-pong

  // predict()'s own buffers [n, widest layer], so that predicting leaves a training step's state alone.
  std::vector<float> predict_buffer_[2];
};

}  // namespace cudamlp
