// The cpu backend's ops (cpu_ops.h) as an OpRunner: called as they are, on the host.
#include "cpu_op_runner.h"

#include <vector>

#include "cpu_ops.h"

namespace cudamlp::verify {

namespace {

class CpuOpRunner final : public OpRunner {
 public:
  std::string name() const override { return "cpu"; }
  void gather_batch(const Dataset& data, std::span<const int64_t> indices, float* x, uint8_t* labels) override {
    cpu::gather_batch(data, indices, x, labels);
  }
  void augment_batch(const Dataset& data, std::span<const int64_t> indices, const Augmentation& augmentation,
                     uint64_t seed, int64_t epoch, float* x, uint8_t* labels) override {
    std::vector<float> scratch(4 * indices.size() * size_t(data.dim()));  // [B, 4, D], cpu_ops.h
    cpu::augment_batch(data, indices, augmentation, seed, epoch, scratch.data(), x, labels);
  }
  void dense_forward(const float* x, const float* W, const float* b, float* y, int64_t B, int in, int out,
                     bool relu) override {
    cpu::dense_forward(x, W, b, y, B, in, out, relu);
  }
  void dense_backward_weights(const float* dy, const float* x, float* dW, float* db, int64_t B, int in,
                              int out) override {
    cpu::dense_backward_weights(dy, x, dW, db, B, in, out);
  }
  void dense_backward_input(const float* dy, const float* W, const float* x, float* dx, int64_t B, int in, int out,
                            bool relu_mask, float mask_scale) override {
    cpu::dense_backward_input(dy, W, x, dx, B, in, out, relu_mask, mask_scale);
  }
  void dropout_forward(float* y, int64_t B, int units, float P, uint64_t seed, int64_t step, int64_t first,
                       int layer) override {
    cpu::dropout_forward(y, B, units, P, seed, step, first, layer);
  }
  BatchStats softmax_xent(const float* logits, const uint8_t* labels, float* probs, float* dlogits, int64_t B,
                          int C) override {
    return cpu::softmax_xent(logits, labels, probs, dlogits, B, C);
  }
  void optimizer_update(const OptimizerConfig& config, float* w, const float* g, OptimizerSlots slots, int64_t n,
                        const StepValues& step, bool decay) override {
    cpu::optimizer_update(config, w, g, slots, n, step, decay);
  }
};

}  // namespace

std::unique_ptr<OpRunner> make_cpu_op_runner() { return std::make_unique<CpuOpRunner>(); }

}  // namespace cudamlp::verify
