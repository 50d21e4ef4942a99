// The ops of one fast backend, called on host arrays, for op-by-op comparison with the reference ops
// (reference_ops.h): each takes and returns what the reference op of the same name does. The cpu
// backend's run on the host (cpu_ops.h); the gpu backend's (device_ops.h) are uploaded, launched on a
// real GPU or on the SIMT emulator, and read back.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "cudamlp/backend.h"
#include "cudamlp/dataset.h"
#include "cudamlp/optimizer.h"
#include "cudamlp/regularization.h"
#include "optimizer_slots.h"

namespace cudamlp::verify {

class OpRunner {
 public:
  virtual ~OpRunner() = default;
  virtual std::string name() const = 0;  // the --device name: "cpu", "gpu", "gpu-emulated"

  // x [B, D] = pixels of samples `indices` / 255; labels [B]
  virtual void gather_batch(const Dataset& data, std::span<const int64_t> indices, float* x, uint8_t* labels) = 0;
  // gather_batch with each image distorted (augmentation.rows * cols == D), drawn for (seed, epoch)
  virtual void augment_batch(const Dataset& data, std::span<const int64_t> indices, const Augmentation& augmentation,
                             uint64_t seed, int64_t epoch, float* x, uint8_t* labels) = 0;
  // y [B, out] = x [B, in] W^T + b, then ReLU when relu
  virtual void dense_forward(const float* x, const float* W, const float* b, float* y, int64_t B, int in, int out,
                             bool relu) = 0;
  // dW [out, in] = dy^T x; db [out] = column sums of dy
  virtual void dense_backward_weights(const float* dy, const float* x, float* dW, float* db, int64_t B, int in,
                                      int out) = 0;
  // dx [B, in] = dy [B, out] W; with relu_mask zero where x <= 0, else times mask_scale
  virtual void dense_backward_input(const float* dy, const float* W, const float* x, float* dx, int64_t B, int in,
                                    int out, bool relu_mask, float mask_scale) = 0;
  // inverted dropout of hidden layer `layer`'s y [B, units] in place, rows at positions first + b, step `step`
  virtual void dropout_forward(float* y, int64_t B, int units, float P, uint64_t seed, int64_t step, int64_t first,
                               int layer) = 0;
  // probs, dlogits [B, C]; the batch's mean loss and count of right answers
  virtual BatchStats softmax_xent(const float* logits, const uint8_t* labels, float* probs, float* dlogits, int64_t B,
                                  int C) = 0;
  // config's update of w [n] from g [n] and its slots, with this step's values
  virtual void optimizer_update(const OptimizerConfig& config, float* w, const float* g, OptimizerSlots slots,
                                int64_t n, const StepValues& step, bool decay) = 0;
};

// The runners: make_cpu_op_runner (cpu_op_runner.h), make_device_op_runner (device_op_runner.h).

}  // namespace cudamlp::verify
