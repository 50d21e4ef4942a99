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
#include "cudamlp/errors.h"
#include "cudamlp/optimizer.h"
#include "cudamlp/regularization.h"
#include "optimizer_slots.h"

namespace cudamlp::reference {

// x [B, D] = pixels of samples `indices` / 255, or their float features as they are; labels [B].
inline void gather_batch(const Dataset& data, std::span<const int64_t> indices, float* x,
                         uint8_t* labels) {
  const int64_t D = data.dim();
  for (size_t n = 0; n < indices.size(); ++n) {
    if (data.has_float_features()) {
      const float* row = data.features.data() + indices[n] * D;
      for (int64_t i = 0; i < D; ++i) x[int64_t(n) * D + i] = row[i];
    } else {
      const uint8_t* row = data.pixels.data() + indices[n] * D;
      for (int64_t i = 0; i < D; ++i) x[int64_t(n) * D + i] = scale_pixel(row[i]);
    }
    labels[n] = data.labels[static_cast<size_t>(indices[n])];
  }
}

// --- augmentation (regularization.h): each training image distorted by one map from output pixel to
// source position, resampled bilinearly. For the image [rows, cols] of sample `sample` in epoch `epoch`:
//   draws  u_k = counter_symmetric(counter_bits(seed, kAugmentation, epoch, sample, k)), k = 0..4:
//          angle = u_0 * rotate (radians), zoom = 1 + u_1 * scale, shear = u_2 * shear,
//          shift_x = u_3 * shift, shift_y = u_4 * shift (pixels)
//   offset (dy, dx) = (r - (rows-1)/2, c - (cols-1)/2) from the centre; a = dx + shear * dy (shear along x)
//   source x = (cols-1)/2 + (cos(angle) a - sin(angle) dy) / zoom + shift_x + alpha * ex(r, c)
//   source y = (rows-1)/2 + (sin(angle) a + cos(angle) dy) / zoom + shift_y + alpha * ey(r, c)
// (written as the source of each output pixel, so nothing is inverted). ex, ey: the elastic fields,
// raw value counter_symmetric(counter_bits(..., 16 + 2 * (r * cols + c) + axis)) (axis 0: x, 1: y),
// smoothed by a separable Gaussian of std sigma truncated at radius ceil(3 sigma), its weights
// normalised to sum 1, the field taken as 0 outside the image. The output is the bilinear interpolation
// of pixel / 255 at the source position, pixels outside the image taken as 0.
struct AugmentDraws {
  double angle = 0, zoom = 1, shear = 0, shift_x = 0, shift_y = 0;
};

inline double augment_draw(uint64_t seed, int64_t epoch, int64_t sample, uint64_t k) {
  return double(counter_symmetric(counter_bits(seed, RandomUse::kAugmentation, uint64_t(epoch), uint64_t(sample), k)));
}

inline AugmentDraws augment_draws(const Augmentation& a, uint64_t seed, int64_t epoch, int64_t sample) {
  const double pi = 3.14159265358979323846;
  AugmentDraws d;
  d.angle = augment_draw(seed, epoch, sample, 0) * double(a.rotate_degrees) * pi / 180.0;
  d.zoom = 1.0 + augment_draw(seed, epoch, sample, 1) * double(a.scale);
  d.shear = augment_draw(seed, epoch, sample, 2) * double(a.shear);
  d.shift_x = augment_draw(seed, epoch, sample, 3) * double(a.shift);
  d.shift_y = augment_draw(seed, epoch, sample, 4) * double(a.shift);
  return d;
}

// The Gaussian's radius: ceil(3 sigma) pixels either side.
inline int elastic_radius(double sigma) { return int(std::ceil(3.0 * sigma)); }

// ex, ey [rows * cols] = alpha * the smoothed elastic fields of (seed, epoch, sample); zero when alpha is 0.
inline void elastic_field(const Augmentation& a, uint64_t seed, int64_t epoch, int64_t sample, double* ex,
                          double* ey) {
  const int rows = a.rows, cols = a.cols;
  if (a.elastic_alpha == 0) {
    for (int p = 0; p < rows * cols; ++p) ex[p] = ey[p] = 0.0;
    return;
  }
  const double sigma = a.elastic_sigma;
  const int R = elastic_radius(sigma);
  std::vector<double> weight(size_t(2 * R + 1));
  double total = 0.0;
  for (int k = -R; k <= R; ++k) total += weight[size_t(k + R)] = std::exp(-double(k) * k / (2.0 * sigma * sigma));
  for (double& w : weight) w /= total;
  double* out[2] = {ex, ey};
  for (int axis = 0; axis < 2; ++axis) {
    // raw [rows, cols], then along rows (x), then along columns (y)
    std::vector<double> raw(size_t(rows * cols)), along_x(size_t(rows * cols));
    for (int p = 0; p < rows * cols; ++p) raw[size_t(p)] = augment_draw(seed, epoch, sample, 16 + 2 * uint64_t(p) + uint64_t(axis));
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        double sum = 0.0;
        for (int k = -R; k <= R; ++k)
          if (c + k >= 0 && c + k < cols) sum += weight[size_t(k + R)] * raw[size_t(r * cols + c + k)];
        along_x[size_t(r * cols + c)] = sum;
      }
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        double sum = 0.0;
        for (int k = -R; k <= R; ++k)
          if (r + k >= 0 && r + k < rows) sum += weight[size_t(k + R)] * along_x[size_t((r + k) * cols + c)];
        out[axis][r * cols + c] = double(a.elastic_alpha) * sum;
      }
  }
}

// Bilinear interpolation of image [rows, cols] / 255 at (y, x), zero outside.
inline double bilinear_pixel(const uint8_t* image, int rows, int cols, double y, double x) {
  const double y0 = std::floor(y), x0 = std::floor(x);
  const double fy = y - y0, fx = x - x0;
  double sum = 0.0;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      const double yy = y0 + i, xx = x0 + j;
      if (yy < 0 || yy >= rows || xx < 0 || xx >= cols) continue;
      const double w = (i ? fy : 1.0 - fy) * (j ? fx : 1.0 - fx);
      sum += w * double(image[int64_t(yy) * cols + int64_t(xx)]) / 255.0;
    }
  return sum;
}

// out [rows * cols] = image [rows, cols] under the map of `d` and the displacements ex, ey (alpha included).
inline void augment_image(const uint8_t* image, int rows, int cols, const AugmentDraws& d, const double* ex,
                          const double* ey, float* out) {
  const double cy = (rows - 1) / 2.0, cx = (cols - 1) / 2.0;
  const double cos_a = std::cos(d.angle), sin_a = std::sin(d.angle);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const double dy = r - cy, dx = c - cx;
      const double a = dx + d.shear * dy;
      const double x = cx + (cos_a * a - sin_a * dy) / d.zoom + d.shift_x + ex[r * cols + c];
      const double y = cy + (sin_a * a + cos_a * dy) / d.zoom + d.shift_y + ey[r * cols + c];
      out[r * cols + c] = float(bilinear_pixel(image, rows, cols, y, x));
    }
}

// x [B, D] = the augmented images of samples `indices` (the sample's index in the training set draws its
// distortion), labels [B]. augmentation.rows * cols == D.
inline void augment_batch(const Dataset& data, std::span<const int64_t> indices, const Augmentation& augmentation,
                          uint64_t seed, int64_t epoch, float* x, uint8_t* labels) {
  if (data.has_float_features()) throw UsageError("augmentation needs images of uint8 pixels, not float32 features");
  const int64_t D = data.dim();
  std::vector<double> ex(static_cast<size_t>(D)), ey(static_cast<size_t>(D));
  for (size_t n = 0; n < indices.size(); ++n) {
    const int64_t sample = indices[n];
    elastic_field(augmentation, seed, epoch, sample, ex.data(), ey.data());
    augment_image(data.pixels.data() + sample * D, augmentation.rows, augmentation.cols,
                  augment_draws(augmentation, seed, epoch, sample), ex.data(), ey.data(), x + int64_t(n) * D);
    labels[n] = data.labels[static_cast<size_t>(sample)];
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
