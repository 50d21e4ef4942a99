// The cpu backend's ops: the same names, signatures and meaning as the reference ops
// (reference_ops.h), computed fast: matrix products by BLAS SGEMM (blas.h), the passes
// around them (bias, ReLU, softmax, update, gather) as one vectorisable loop each, split over OpenMP
// threads when the work is large enough to pay for waking them. Sums are float, as in the GEMM; the
// tests bound the difference to the reference's double sums.
//
// Every op runs on omp_get_max_threads() threads (CpuBackend sets that from --threads). No op
// allocates. Layouts (row-major): x [B, in], W [out, in] (PyTorch's nn.Linear), b [out], y [B, out].
#pragma once

#include <cstdint>
#include <span>

#include "cudamlp/backend.h"
#include "cudamlp/dataset.h"
#include "cudamlp/optimizer.h"
#include "cudamlp/regularization.h"
#include "optimizer_slots.h"

namespace cudamlp::cpu {

// x [B, D] = scale_pixel(pixels of samples `indices`), or their float features as they are; labels [B].
// Pixels stay uint8 until here.
void gather_batch(const Dataset& data, std::span<const int64_t> indices, float* x, uint8_t* labels);

// gather_batch with each image distorted (regularization.h; the map of reference_ops.h's augment_batch,
// in float): the sample's index in the training set and `epoch` draw it under seed. OpenMP over samples;
// scratch [B, 4, D] floats (the elastic fields raw and smoothed along x; unused without elastic).
void augment_batch(const Dataset& data, std::span<const int64_t> indices, const Augmentation& augmentation,
                   uint64_t seed, int64_t epoch, float* scratch, float* x, uint8_t* labels);

// y = x W^T + b, then max(0, y) when relu: one SGEMM, then one pass adding the bias (and clamping).
void dense_forward(const float* x, const float* W, const float* b, float* y, int64_t B, int in, int out,
                   bool relu);

// Inverted dropout of hidden layer `layer`'s output y [B, units], in place, row b being the sample at
// position first + b of the epoch's order in optimizer step `step`: dropout_mask.h's mask, kept units
// times 1 / (1 - P). One pass, parallel over rows.
void dropout_forward(float* y, int64_t B, int units, float P, uint64_t seed, int64_t step, int64_t first, int layer);

// Given dy = dLoss/dy [B, out] and the layer's input x [B, in]: dW = dy^T x [out, in] and db = column
// sums of dy [out]. One SGEMM and one pass.
void dense_backward_weights(const float* dy, const float* x, float* dW, float* db, int64_t B, int in, int out);

// Given dy = dLoss/dy [B, out]: dx = dy W [B, in]; with relu_mask (x is the previous layer's ReLU output)
// then zeroed where x is not > 0 and multiplied by mask_scale elsewhere (dropout's 1 / (1 - P)). One
// SGEMM and, with the mask, one pass.
void dense_backward_input(const float* dy, const float* W, const float* x, float* dx, int64_t B, int in, int out,
                          bool relu_mask, float mask_scale = 1.0f);

// probs [B, C] = softmax of each row of logits [B, C] (max-subtracted).
void softmax(const float* logits, float* probs, int64_t B, int C);

// Softmax + mean cross-entropy, one pass over the rows: probs [B, C], dlogits [B, C] =
// (probs - onehot(label)) / B, the batch's mean loss and how many rows' first largest logit is the label.
BatchStats softmax_xent(const float* logits, const uint8_t* labels, float* probs, float* dlogits, int64_t B,
                        int C);

// SGD as PyTorch's (optimizer.h): g' = g + wd w; v = momentum v + g'; w -= lr (g' + momentum v) with
// Nesterov, else w -= lr v. With momentum 0, no decay and no Nesterov this is w -= lr g and v is neither
// read nor written, a third less memory traffic (PyTorch keeps no momentum buffer then either; the
// reference and the kernels write v = g, which no later step reads: a run's momentum is fixed).
void sgd_update(float* w, const float* g, float* v, int64_t n, float lr, float momentum, bool nesterov,
                float weight_decay);

// Adam (decoupled: AdamW) as PyTorch's at step `step` (0-based), over slots m ("exp_avg") and s
// ("exp_avg_sq"); see optimizer.h.
void adam_update(float* w, const float* g, float* m, float* s, int64_t n, float lr, int64_t step, float beta1,
                 float beta2, float eps, float weight_decay, bool decoupled);

// The update of `config`'s optimizer over the n parameters w of one tensor from gradients g, with its
// slots; `decay`: the tensor takes config's weight decay (weights do, biases do not).
void optimizer_update(const OptimizerConfig& config, float* w, const float* g, OptimizerSlots slots, int64_t n,
                      const StepValues& step, bool decay);

}  // namespace cudamlp::cpu
