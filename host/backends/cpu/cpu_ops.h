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

namespace cudamlp::cpu {

// x [B, D] = scale_pixel(pixels of samples `indices`); labels [B]. Pixels stay uint8 until here.
void gather_batch(const Dataset& data, std::span<const int64_t> indices, float* x, uint8_t* labels);

// y = x W^T + b, then max(0, y) when relu: one SGEMM, then one pass adding the bias (and clamping).
void dense_forward(const float* x, const float* W, const float* b, float* y, int64_t B, int in, int out,
                   bool relu);

// Given dy = dLoss/dy [B, out]: dW = dy^T x [out, in], db = column sums of dy [out], and, unless dx is
// null (the first layer needs no input gradient), dx = dy W [B, in]. Two SGEMMs and one pass.
void dense_backward(const float* dy, const float* x, const float* W, float* dW, float* db, float* dx,
                    int64_t B, int in, int out);

// Backward of y = max(0, z) given the forward's output y: dy is zeroed where y is not > 0.
void relu_backward(const float* y, float* dy, int64_t n);

// probs [B, C] = softmax of each row of logits [B, C] (max-subtracted).
void softmax(const float* logits, float* probs, int64_t B, int C);

// Softmax + mean cross-entropy, one pass over the rows: probs [B, C], dlogits [B, C] =
// (probs - onehot(label)) / B, the batch's mean loss and how many rows' first largest logit is the label.
BatchStats softmax_xent(const float* logits, const uint8_t* labels, float* probs, float* dlogits, int64_t B,
                        int C);

// SGD with PyTorch's momentum: v = momentum * v + g; w -= lr * v. With momentum 0 this is w -= lr * g
// and v is neither read nor written, a third less memory traffic (PyTorch keeps no momentum buffer then
// either; the reference writes v = g, which differs only if momentum became non-zero within a run).
void sgd_update(float* w, const float* g, float* v, int64_t n, double lr, double momentum);

}  // namespace cudamlp::cpu
