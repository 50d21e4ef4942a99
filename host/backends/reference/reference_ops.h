// The reference ops: the oracle every other backend is tested against. Plain loops, every sum
// accumulated in double, no blocking, no SIMD, nothing shared with the fast backends. Templated on the
// storage type T: float when training, double for the finite-difference gradient checks in the tests.
//
// Layouts (row-major): x [B, in], W [out, in] (PyTorch's nn.Linear), b [out], y [B, out].
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "cudamlp/backend.h"
#include "cudamlp/counter_random.h"
#include "cudamlp/dataset.h"
#include "cudamlp/dropout_mask.h"
#include "cudamlp/optimizer.h"
#include "optimizer_slots.h"

namespace cudamlp::reference {

// x [B, D] = pixels of samples `indices` / 255; labels [B].
inline void gather_batch(const Dataset& data, std::span<const int64_t> indices, float* x,
                         uint8_t* labels) {
  const int64_t D = data.dim();
  for (size_t n = 0; n < indices.size(); ++n) {
    const uint8_t* row = data.pixels.data() + indices[n] * D;
    for (int64_t i = 0; i < D; ++i) x[int64_t(n) * D + i] = scale_pixel(row[i]);
    labels[n] = data.labels[static_cast<size_t>(indices[n])];
  }
}

// y = x W^T + b, then max(0, y) when relu.
template <typename T>
void dense_forward(const T* x, const T* W, const T* b, T* y, int64_t B, int in, int out, bool relu) {
  for (int64_t n = 0; n < B; ++n) {
    for (int o = 0; o < out; ++o) {
      double sum = b[o];
      for (int i = 0; i < in; ++i) sum += double(x[n * in + i]) * double(W[int64_t(o) * in + i]);
      if (relu && sum < 0.0) sum = 0.0;
      y[n * out + o] = T(sum);
    }
  }
}

// Inverted dropout of hidden layer `layer`'s output y [B, units], in place: row b is the sample at
// position first + b of the epoch's order, in optimizer step `step`. Unit j is kept, times 1 / (1 - P),
// when the top 24 bits of counter_bits(seed, kDropout, step, first + b, layer << 32 | j) are at least
// round(P * 2^24); else it is 0.
template <typename T>
void dropout_forward(T* y, int64_t B, int units, float P, uint64_t seed, int64_t step, int64_t first, int layer) {
  const uint64_t threshold = dropout_threshold(P);
  const double scale = double(dropout_scale(P));
  for (int64_t n = 0; n < B; ++n) {
    for (int j = 0; j < units; ++j) {
      const uint64_t bits = counter_bits(seed, RandomUse::kDropout, uint64_t(step), uint64_t(first + n),
                                         (uint64_t(layer) << 32) | uint64_t(j));
      T& value = y[n * units + j];
      value = (bits >> 40) >= threshold ? T(double(value) * scale) : T(0);
    }
  }
}

// Given dy = dLoss/dy [B, out] and the layer's input x [B, in]: dW = dy^T x [out, in] and db = column
// sums of dy [out].
template <typename T>
void dense_backward_weights(const T* dy, const T* x, T* dW, T* db, int64_t B, int in, int out) {
  for (int o = 0; o < out; ++o) {
    for (int i = 0; i < in; ++i) {
      double sum = 0.0;
      for (int64_t n = 0; n < B; ++n) sum += double(dy[n * out + o]) * double(x[n * in + i]);
      dW[int64_t(o) * in + i] = T(sum);
    }
    double sum = 0.0;
    for (int64_t n = 0; n < B; ++n) sum += double(dy[n * out + o]);
    db[o] = T(sum);
  }
}

// Given dy = dLoss/dy [B, out]: dx = dy W [B, in], the gradient with respect to the layer's input x.
// relu_mask: x is the previous layer's ReLU output, whose backward passes the gradient only where x > 0,
// times mask_scale: dropout's 1 / (1 - P) (a dropped unit's x is 0, a kept one's relu * scale).
template <typename T>
void dense_backward_input(const T* dy, const T* W, const T* x, T* dx, int64_t B, int in, int out, bool relu_mask,
                          float mask_scale = 1.0f) {
  for (int64_t n = 0; n < B; ++n) {
    for (int i = 0; i < in; ++i) {
      double sum = 0.0;
      for (int o = 0; o < out; ++o) sum += double(dy[n * out + o]) * double(W[int64_t(o) * in + i]);
      if (relu_mask) sum *= double(mask_scale);
      dx[n * in + i] = relu_mask && !(x[n * in + i] > T(0)) ? T(0) : T(sum);
    }
  }
}

// probs [B, C] = softmax of each row of logits [B, C], max-subtracted so exp never overflows.
template <typename T>
void softmax(const T* logits, T* probs, int64_t B, int C) {
  for (int64_t n = 0; n < B; ++n) {
    const T* row = logits + n * C;
    double max = row[0];
    for (int c = 1; c < C; ++c) max = std::fmax(max, double(row[c]));
    double sum = 0.0;
    for (int c = 0; c < C; ++c) sum += std::exp(double(row[c]) - max);
    for (int c = 0; c < C; ++c) probs[n * C + c] = T(std::exp(double(row[c]) - max) / sum);
  }
}

// Softmax + mean cross-entropy over the batch. Writes probs [B, C] and dlogits [B, C] =
// (probs - onehot(label)) / B, the gradient of the mean loss. loss_i = log(sum exp(l - max)) - (l_y - max).
// correct counts rows whose first largest logit is the label.
template <typename T>
BatchStats softmax_xent(const T* logits, const uint8_t* labels, T* probs, T* dlogits, int64_t B, int C) {
  softmax(logits, probs, B, C);
  BatchStats stats;
  stats.count = B;
  double loss_sum = 0.0;
  for (int64_t n = 0; n < B; ++n) {
    const T* row = logits + n * C;
    int argmax = 0;
    for (int c = 1; c < C; ++c)
      if (row[c] > row[argmax]) argmax = c;
    double sum = 0.0;
    for (int c = 0; c < C; ++c) sum += std::exp(double(row[c]) - double(row[argmax]));
    loss_sum += std::log(sum) - (double(row[labels[n]]) - double(row[argmax]));
    if (argmax == labels[n]) stats.correct++;
    for (int c = 0; c < C; ++c) {
      const double onehot = c == labels[n] ? 1.0 : 0.0;
      dlogits[n * C + c] = T((double(probs[n * C + c]) - onehot) / double(B));
    }
  }
  stats.loss = loss_sum / double(B);
  return stats;
}

// SGD as PyTorch's torch.optim.SGD (optimizer.h): g += wd w; v = momentum v + g; w -= lr (g + momentum v)
// with Nesterov, else w -= lr v. With momentum 0 and no decay this is w -= lr g.
template <typename T>
void sgd_update(T* w, const T* g, T* v, int64_t n, float lr, float momentum, bool nesterov, float weight_decay) {
  for (int64_t i = 0; i < n; ++i) {
    const double grad = double(g[i]) + double(weight_decay) * double(w[i]);
    v[i] = T(double(momentum) * double(v[i]) + grad);
    const double direction = nesterov ? grad + double(momentum) * double(v[i]) : double(v[i]);
    w[i] = T(double(w[i]) - double(lr) * direction);
  }
}

// Adam as PyTorch's torch.optim.Adam, and with `decoupled` AdamW (optimizer.h), at step `step` (0-based):
// m = b1 m + (1 - b1) g; s = b2 s + (1 - b2) g^2; w -= (lr / (1 - b1^t)) m / (sqrt(s) / sqrt(1 - b2^t) + eps),
// t = step + 1. Adam adds wd w to g first; AdamW multiplies w by 1 - lr wd first instead.
template <typename T>
void adam_update(T* w, const T* g, T* m, T* s, int64_t n, float lr, int64_t step, float beta1, float beta2, float eps,
                 float weight_decay, bool decoupled) {
  const double t = double(step) + 1.0;
  const double correction1 = 1.0 - std::pow(double(beta1), t);
  const double correction2 = 1.0 - std::pow(double(beta2), t);
  for (int64_t i = 0; i < n; ++i) {
    double weight = double(w[i]);
    double grad = double(g[i]);
    if (decoupled) {
      weight *= 1.0 - double(lr) * double(weight_decay);
    } else {
      grad += double(weight_decay) * weight;
    }
    m[i] = T(double(beta1) * double(m[i]) + (1.0 - double(beta1)) * grad);
    s[i] = T(double(beta2) * double(s[i]) + (1.0 - double(beta2)) * grad * grad);
    const double denominator = std::sqrt(double(s[i])) / std::sqrt(correction2) + double(eps);
    w[i] = T(weight - double(lr) / correction1 * double(m[i]) / denominator);
  }
}

// The update of `config`'s optimizer over the n parameters w of one tensor from gradients g, with its
// slots; `decay`: the tensor takes config's weight decay (weights do, biases do not).
inline void optimizer_update(const OptimizerConfig& config, float* w, const float* g, OptimizerSlots slots, int64_t n,
                             const StepValues& step, bool decay) {
  const float weight_decay = decay ? config.weight_decay : 0.0f;
  switch (config.kind) {
    case OptimizerKind::kSgd:
      return sgd_update(w, g, slots.slot[0], n, step.lr, config.momentum, config.nesterov, weight_decay);
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW:
      return adam_update(w, g, slots.slot[0], slots.slot[1], n, step.lr, step.step, config.beta1, config.beta2,
                         config.eps, weight_decay, config.kind == OptimizerKind::kAdamW);
  }
}

}  // namespace cudamlp::reference
