// See planted_bug.h: a decorator of an OpRunner that scales one op's outputs by 1 + kPlantedBugSize.
#include "planted_bug.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "cudamlp/errors.h"

namespace cudamlp::verify {

namespace {

const std::vector<std::string> kOps = {"gather_batch",         "augment_batch",   "dense_forward",
                                       "dense_backward_weights", "dense_backward_input", "dropout_forward",
                                       "softmax_xent",         "optimizer_update"};

void perturb(float* values, int64_t n) {
  for (int64_t i = 0; i < n; ++i) values[i] *= 1.0f + kPlantedBugSize;
}

class PerturbedOpRunner final : public OpRunner {
 public:
  PerturbedOpRunner(std::unique_ptr<OpRunner> inner, std::string op) : inner_(std::move(inner)), op_(std::move(op)) {}
  std::string name() const override { return inner_->name(); }

  void gather_batch(const Dataset& data, std::span<const int64_t> indices, float* x, uint8_t* labels) override {
    inner_->gather_batch(data, indices, x, labels);
    if (op_ == "gather_batch") perturb(x, int64_t(indices.size()) * data.dim());
  }
  void augment_batch(const Dataset& data, std::span<const int64_t> indices, const Augmentation& augmentation,
                     uint64_t seed, int64_t epoch, float* x, uint8_t* labels) override {
    inner_->augment_batch(data, indices, augmentation, seed, epoch, x, labels);
    if (op_ == "augment_batch") perturb(x, int64_t(indices.size()) * data.dim());
  }
  void dense_forward(const float* x, const float* W, const float* b, float* y, int64_t B, int in, int out,
                     bool relu) override {
    inner_->dense_forward(x, W, b, y, B, in, out, relu);
    if (op_ == "dense_forward") perturb(y, B * out);
  }
  void dense_backward_weights(const float* dy, const float* x, float* dW, float* db, int64_t B, int in,
                              int out) override {
    inner_->dense_backward_weights(dy, x, dW, db, B, in, out);
    if (op_ == "dense_backward_weights") perturb(dW, int64_t(out) * in);
  }
  void dense_backward_input(const float* dy, const float* W, const float* x, float* dx, int64_t B, int in, int out,
                            bool relu_mask, float mask_scale) override {
    inner_->dense_backward_input(dy, W, x, dx, B, in, out, relu_mask, mask_scale);
    if (op_ == "dense_backward_input") perturb(dx, B * in);
  }
  void dropout_forward(float* y, int64_t B, int units, float P, uint64_t seed, int64_t step, int64_t first,
                       int layer) override {
    inner_->dropout_forward(y, B, units, P, seed, step, first, layer);
    if (op_ == "dropout_forward") perturb(y, B * units);
  }
  BatchStats softmax_xent(const float* logits, const uint8_t* labels, float* probs, float* dlogits, int64_t B,
                          int C) override {
    BatchStats stats = inner_->softmax_xent(logits, labels, probs, dlogits, B, C);
    if (op_ == "softmax_xent") perturb(probs, B * C);
    return stats;
  }
  void optimizer_update(const OptimizerConfig& config, float* w, const float* g, OptimizerSlots slots, int64_t n,
                        const StepValues& step, bool decay) override {
    inner_->optimizer_update(config, w, g, slots, n, step, decay);
    if (op_ == "optimizer_update") perturb(w, n);
  }

 private:
  std::unique_ptr<OpRunner> inner_;
  std::string op_;
};

}  // namespace

bool planted_bug_built() {
#if CUDAMLP_PLANTED_BUG
  return true;
#else
  return false;
#endif
}

std::string planted_bug_op() {
  if (!planted_bug_built()) return "";
  const char* op = std::getenv("CUDAMLP_PLANTED_BUG");
  if (op == nullptr || *op == '\0') return "";
  if (std::find(kOps.begin(), kOps.end(), op) == kOps.end())
    throw UsageError("CUDAMLP_PLANTED_BUG: '" + std::string(op) + "' is not an op (expected one of gather_batch, "
                     "augment_batch, dense_forward, dense_backward_weights, dense_backward_input, dropout_forward, "
                     "softmax_xent, optimizer_update)");
  return op;
}

std::unique_ptr<OpRunner> with_planted_bug(std::unique_ptr<OpRunner> runner) {
  const std::string op = planted_bug_op();
  if (op.empty()) return runner;
  return std::make_unique<PerturbedOpRunner>(std::move(runner), op);
}

}  // namespace cudamlp::verify
