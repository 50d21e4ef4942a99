// The cpu backend's ops; see ops.h. Each pass is a loop over a range of rows or elements in its own
// function (CUDAMLP_VECTOR_CLONES: compiled for AVX-512, AVX2 and baseline, picked at load time), with
// __restrict pointers so the compiler vectorises it without runtime alias checks; parallel_for hands
// each OpenMP thread one contiguous range.
#include "cpu_ops.h"

#include <algorithm>
#include <cmath>

#include "blas.h"
#include "cudamlp/counter_random.h"
#include "cudamlp/dropout_mask.h"
#include "cudamlp/errors.h"
#include "parallel.h"

namespace cudamlp::cpu {

namespace {

// Columns of db summed by one thread at a time: a block of partial sums stays in registers.
constexpr int kColumnBlock = 64;
// softmax_xent's work per element, in units of a streaming element: an exp and a division.
constexpr int64_t kSoftmaxWorkPerElement = 8;
// dropout_forward's per element: one SplitMix64 mix (two 64-bit multiplies, three shift-xors).
constexpr int64_t kDropoutWorkPerElement = 8;

// x [begin..end) rows: x[n, :] = scale_pixel(pixels[indices[n], :]).
CUDAMLP_VECTOR_CLONES
void gather_rows(const uint8_t* pixels, const int64_t* indices, float* x, int64_t D, int64_t begin, int64_t end) {
  for (int64_t n = begin; n < end; ++n) {
    const uint8_t* __restrict row = pixels + indices[n] * D;
    float* __restrict out = x + n * D;
    for (int64_t i = 0; i < D; ++i) out[i] = scale_pixel(row[i]);
  }
}

// x [begin..end) rows: x[n, :] = features[indices[n], :], copied as they are.
void gather_feature_rows(const float* features, const int64_t* indices, float* x, int64_t D, int64_t begin,
                         int64_t end) {
  for (int64_t n = begin; n < end; ++n) std::copy_n(features + indices[n] * D, D, x + n * D);
}

// y [begin..end) rows of width out: y += b, then max(0, y) when relu.
CUDAMLP_VECTOR_CLONES
void add_bias_rows(float* y, const float* __restrict b, int out, bool relu, int64_t begin, int64_t end) {
  for (int64_t n = begin; n < end; ++n) {
    float* __restrict row = y + n * out;
    if (relu) {
      for (int o = 0; o < out; ++o) {
        const float v = row[o] + b[o];
        row[o] = v < 0.0f ? 0.0f : v;
      }
    } else {
      for (int o = 0; o < out; ++o) row[o] += b[o];
    }
  }
}

// db[first..first+count) = column sums of dy [B, out] over those columns.
CUDAMLP_VECTOR_CLONES
void column_sums(const float* dy, float* db, int64_t B, int out, int first, int count) {
  float sum[kColumnBlock] = {};
  for (int64_t n = 0; n < B; ++n) {
    const float* __restrict row = dy + n * out + first;
    for (int o = 0; o < count; ++o) sum[o] += row[o];
  }
  for (int o = 0; o < count; ++o) db[first + o] = sum[o];
}

// dx[begin..end) = 0 where the previous layer's ReLU output x is not > 0.
CUDAMLP_VECTOR_CLONES
void relu_mask_range(const float* __restrict x, float* __restrict dx, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) dx[i] = x[i] > 0.0f ? dx[i] : 0.0f;
}

// The same, kept values times scale (dropout's 1 / (1 - P); a separate loop so that P = 0 stays the
// loop above, bit for bit).
CUDAMLP_VECTOR_CLONES
void relu_mask_scaled_range(const float* __restrict x, float* __restrict dx, float scale, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) dx[i] = x[i] > 0.0f ? scale * dx[i] : 0.0f;
}

// Rows [begin..end) of y [B, units]: row n is the sample whose dropout key is that of position first + n.
CUDAMLP_VECTOR_CLONES
void dropout_rows(float* y, int units, uint32_t threshold, float scale, uint64_t seed, int64_t step, int64_t first,
                  int layer, int64_t begin, int64_t end) {
  for (int64_t n = begin; n < end; ++n) {
    const uint64_t key = dropout_sample_key(seed, uint64_t(step), uint64_t(first + n));
    float* __restrict row = y + n * units;
    for (int j = 0; j < units; ++j)
      row[j] = dropout_keeps(key, uint32_t(layer), uint32_t(j), threshold) ? row[j] * scale : 0.0f;
  }
}

CUDAMLP_VECTOR_CLONES
void sgd_range(float* __restrict w, const float* __restrict g, float* __restrict v, float rate, float mu,
               int64_t begin, int64_t end) {
  if (v == nullptr) {  // momentum 0
    for (int64_t i = begin; i < end; ++i) w[i] -= rate * g[i];
    return;
  }
  for (int64_t i = begin; i < end; ++i) {
    v[i] = mu * v[i] + g[i];
    w[i] -= rate * v[i];
  }
}

// SGD with weight decay and/or Nesterov (optimizer.h): g' = g + wd w; v = mu v + g'; w -= rate (g' + mu v)
// with Nesterov, else w -= rate v. Apart from sgd_range, so that the plain update keeps its rounding.
CUDAMLP_VECTOR_CLONES
void sgd_decay_range(float* __restrict w, const float* __restrict g, float* __restrict v, float rate, float mu,
                     bool nesterov, float wd, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float grad = g[i] + wd * w[i];
    const float velocity = mu * v[i] + grad;
    v[i] = velocity;
    w[i] -= rate * (nesterov ? grad + mu * velocity : velocity);
  }
}

// The scalars of one Adam(W) step, computed once in double as PyTorch does (its step size and
// sqrt(1 - b2^t) are Python floats), then used in float.
struct AdamScalars {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps;
  float keep;            // AdamW: w *= 1 - lr wd first; Adam: 1
  float coupled_decay;   // Adam: g += wd w; AdamW: 0
  float step_size;       // lr / (1 - b1^t)
  float correction2_sqrt;  // sqrt(1 - b2^t)
};

CUDAMLP_VECTOR_CLONES
void adam_range(float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict s,
                AdamScalars k, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float grad = g[i] + k.coupled_decay * w[i];
    const float first = k.beta1 * m[i] + k.one_minus_beta1 * grad;
    const float second = k.beta2 * s[i] + k.one_minus_beta2 * grad * grad;
    m[i] = first;
    s[i] = second;
    w[i] = w[i] * k.keep - k.step_size * first / (std::sqrt(second) / k.correction2_sqrt + k.eps);
  }
}

// Softmax of one row of C logits into p (max-subtracted); returns the sum of the exps and sets argmax
// to the first largest logit.
float softmax_row(const float* __restrict row, float* __restrict p, int C, int& argmax) {
  argmax = int(std::max_element(row, row + C) - row);
  const float max = row[argmax];
  float sum = 0.0f;
  for (int c = 0; c < C; ++c) {
    p[c] = std::exp(row[c] - max);
    sum += p[c];
  }
  const float inverse = 1.0f / sum;
  for (int c = 0; c < C; ++c) p[c] *= inverse;
  return sum;
}

// The augmentation's draws for one sample: k = 0..4 of counter_bits(seed, kAugmentation, epoch, sample, k).
float augment_draw(uint64_t seed, int64_t epoch, int64_t sample, uint64_t k) {
  return counter_symmetric(counter_bits(seed, RandomUse::kAugmentation, uint64_t(epoch), uint64_t(sample), k));
}

// One sample's elastic displacements, alpha included, into field [2, D] (x then y): the raw draws land
// there first, the Gaussian of weights [2R + 1] (normalised) smooths them along x into along_x [2, D],
// then along y back into field.
CUDAMLP_VECTOR_CLONES
void elastic_displacements(const Augmentation& a, uint64_t seed, int64_t epoch, int64_t sample,
                           const float* __restrict weight, int R, float* __restrict field, float* __restrict along_x) {
  float* raw = field;
  const int rows = a.rows, cols = a.cols, D = rows * cols;
  for (int i = 0; i < 2 * D; ++i) {
    const int p = i % D, axis = i / D;
    raw[i] = augment_draw(seed, epoch, sample, 16 + 2 * uint64_t(p) + uint64_t(axis));
  }
  for (int axis = 0; axis < 2; ++axis)
    for (int r = 0; r < rows; ++r) {
      const float* __restrict in = raw + axis * D + r * cols;
      float* __restrict out = along_x + axis * D + r * cols;
      for (int c = 0; c < cols; ++c) out[c] = 0.0f;
      for (int k = -R; k <= R; ++k) {
        const int lo = std::max(0, -k), hi = std::min(cols, cols - k);  // c + k inside the row
        const float w = weight[k + R];
        for (int c = lo; c < hi; ++c) out[c] += w * in[c + k];
      }
    }
  for (int axis = 0; axis < 2; ++axis)
    for (int r = 0; r < rows; ++r) {
      float* __restrict out = field + axis * D + r * cols;
      for (int c = 0; c < cols; ++c) out[c] = 0.0f;
      for (int k = std::max(-R, -r); k <= std::min(R, rows - 1 - r); ++k) {
        const float* __restrict in = along_x + axis * D + (r + k) * cols;
        const float w = weight[k + R] * a.elastic_alpha;
        for (int c = 0; c < cols; ++c) out[c] += w * in[c];
      }
    }
}

// out [D] = image [rows, cols] / 255 resampled at the affine source of each pixel plus field [2, D]
// (null: no elastic displacement), bilinear, zero outside.
CUDAMLP_VECTOR_CLONES
void resample_image(const uint8_t* __restrict image, int rows, int cols, const float* __restrict affine,
                    const float* __restrict field, float* __restrict out) {
  // affine: cos/zoom, sin/zoom, shear, shift_x, shift_y
  const float cos_z = affine[0], sin_z = affine[1], shear = affine[2], shift_x = affine[3], shift_y = affine[4];
  const float cy = float(rows - 1) * 0.5f, cx = float(cols - 1) * 0.5f;
  const int D = rows * cols;
  for (int r = 0; r < rows; ++r) {
    const float dy = float(r) - cy;
    for (int c = 0; c < cols; ++c) {
      const float dx = float(c) - cx;
      const float sheared = dx + shear * dy;
      float sx = cx + cos_z * sheared - sin_z * dy + shift_x;
      float sy = cy + sin_z * sheared + cos_z * dy + shift_y;
      if (field != nullptr) {
        sx += field[r * cols + c];
        sy += field[D + r * cols + c];
      }
      const float y0 = std::floor(sy), x0 = std::floor(sx);
      const float fy = sy - y0, fx = sx - x0;
      float sum = 0.0f;
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) {
          const float yy = y0 + float(i), xx = x0 + float(j);
          const bool inside = yy >= 0.0f && yy < float(rows) && xx >= 0.0f && xx < float(cols);
          const float w = (i ? fy : 1.0f - fy) * (j ? fx : 1.0f - fx);
          if (inside) sum += w * (float(image[int(yy) * cols + int(xx)]) / 255.0f);
        }
      out[r * cols + c] = sum;
    }
  }
}

}  // namespace

void gather_batch(const Dataset& data, std::span<const int64_t> indices, float* x, uint8_t* labels) {
  const int64_t B = static_cast<int64_t>(indices.size());
  const int64_t D = data.dim();
  parallel_for(B, B * D, [&](int64_t begin, int64_t end) {
    if (data.has_float_features()) gather_feature_rows(data.features.data(), indices.data(), x, D, begin, end);
    else gather_rows(data.pixels.data(), indices.data(), x, D, begin, end);
  });
  for (int64_t n = 0; n < B; ++n) labels[n] = data.labels[size_t(indices[size_t(n)])];
}

void augment_batch(const Dataset& data, std::span<const int64_t> indices, const Augmentation& a, uint64_t seed,
                   int64_t epoch, float* scratch, float* x, uint8_t* labels) {
  if (data.has_float_features()) throw UsageError("augmentation needs images of uint8 pixels, not float32 features");
  const int64_t B = static_cast<int64_t>(indices.size());
  const int64_t D = data.dim();
  const bool elastic = a.elastic_alpha > 0.0f;
  // The normalised Gaussian of radius ceil(3 sigma) (at most 192: sigma <= 64).
  float weight[2 * 192 + 1];
  const int R = elastic ? int(std::ceil(3.0f * a.elastic_sigma)) : 0;
  if (elastic) {
    float total = 0.0f;
    for (int k = -R; k <= R; ++k) total += weight[k + R] = std::exp(-float(k * k) / (2.0f * a.elastic_sigma * a.elastic_sigma));
    for (int k = 0; k <= 2 * R; ++k) weight[k] /= total;
  }
  // Per sample: a hash per elastic value and about 4 (2R + 1) multiply-adds per pixel for the blur.
  parallel_for(B, B * D * (elastic ? 8 * (R + 4) : 8), [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const int64_t sample = indices[size_t(n)];
      const float angle = augment_draw(seed, epoch, sample, 0) * a.rotate_degrees * (3.14159265358979f / 180.0f);
      const float zoom = 1.0f + augment_draw(seed, epoch, sample, 1) * a.scale;
      const float affine[5] = {std::cos(angle) / zoom, std::sin(angle) / zoom, augment_draw(seed, epoch, sample, 2) * a.shear,
                               augment_draw(seed, epoch, sample, 3) * a.shift, augment_draw(seed, epoch, sample, 4) * a.shift};
      float* field = nullptr;
      if (elastic) {
        float* own = scratch + n * 4 * D;  // [field x, field y, along_x x, along_x y]
        elastic_displacements(a, seed, epoch, sample, weight, R, own, own + 2 * D);
        field = own;
      }
      resample_image(data.pixels.data() + sample * D, a.rows, a.cols, affine, field, x + n * D);
    }
  });
  for (int64_t n = 0; n < B; ++n) labels[n] = data.labels[size_t(indices[size_t(n)])];
}

void dense_forward(const float* x, const float* W, const float* b, float* y, int64_t B, int in, int out,
                   bool relu) {
  if (B == 0) return;
  // y [B, out] = x [B, in] . W^T, W being [out, in]
  gemm(false, true, int(B), out, in, 1.0f, x, in, W, in, 0.0f, y, out);
  parallel_for(B, B * out, [&](int64_t begin, int64_t end) { add_bias_rows(y, b, out, relu, begin, end); });
}

void dropout_forward(float* y, int64_t B, int units, float P, uint64_t seed, int64_t step, int64_t first, int layer) {
  const uint32_t threshold = dropout_threshold(P);
  const float scale = dropout_scale(P);
  parallel_for(B, B * units * kDropoutWorkPerElement, [&](int64_t begin, int64_t end) {
    dropout_rows(y, units, threshold, scale, seed, step, first, layer, begin, end);
  });
}

void dense_backward_weights(const float* dy, const float* x, float* dW, float* db, int64_t B, int in, int out) {
  // dW [out, in] = dy^T [out, B] . x [B, in]
  gemm(true, false, out, in, int(B), 1.0f, dy, out, x, in, 0.0f, dW, in);
  // db [out] = column sums of dy [B, out], kColumnBlock columns at a time.
  const int64_t blocks = (out + kColumnBlock - 1) / kColumnBlock;
  parallel_for(blocks, B * out, [&](int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      const int first = int(block) * kColumnBlock;
      column_sums(dy, db, B, out, first, std::min(kColumnBlock, out - first));
    }
  });
}

void dense_backward_input(const float* dy, const float* W, const float* x, float* dx, int64_t B, int in, int out,
                          bool relu_mask, float mask_scale) {
  if (B == 0) return;
  // dx [B, in] = dy [B, out] . W [out, in]
  gemm(false, false, int(B), in, out, 1.0f, dy, out, W, in, 0.0f, dx, in);
  if (!relu_mask) return;
  const int64_t n = B * in;
  if (mask_scale == 1.0f)
    parallel_for(n, n, [&](int64_t begin, int64_t end) { relu_mask_range(x, dx, begin, end); });
  else
    parallel_for(n, n, [&](int64_t begin, int64_t end) { relu_mask_scaled_range(x, dx, mask_scale, begin, end); });
}

void softmax(const float* logits, float* probs, int64_t B, int C) {
  parallel_for(B, B * C * kSoftmaxWorkPerElement, [&](int64_t begin, int64_t end) {
    int argmax = 0;
    for (int64_t n = begin; n < end; ++n) softmax_row(logits + n * C, probs + n * C, C, argmax);
  });
}

BatchStats softmax_xent(const float* logits, const uint8_t* labels, float* probs, float* dlogits, int64_t B,
                        int C) {
  const float batch = float(B);
  // Each thread's loss sum and count of right answers, added up in thread order after the pass, so the
  // loss does not depend on which thread finished first.
  constexpr int kMaxThreads = 256;
  double loss_sums[kMaxThreads] = {};
  int64_t corrects[kMaxThreads] = {};
  const int threads = std::min(omp_get_max_threads(), kMaxThreads);
  parallel_for(threads, B * C * kSoftmaxWorkPerElement, [&](int64_t first_part, int64_t end_part) {
    for (int64_t part = first_part; part < end_part; ++part) {
      double loss_sum = 0.0;
      int64_t correct = 0;
      for (int64_t n = B * part / threads; n < B * (part + 1) / threads; ++n) {
        const float* row = logits + n * C;
        float* p = probs + n * C;
        float* d = dlogits + n * C;
        const int label = labels[n];
        int argmax = 0;
        const float sum = softmax_row(row, p, C, argmax);
        for (int c = 0; c < C; ++c) d[c] = (p[c] - (c == label ? 1.0f : 0.0f)) / batch;
        // -log p[label] = log(sum) - (l_label - max): never log(0), even when p[label] underflows.
        loss_sum += std::log(double(sum)) - (double(row[label]) - double(row[argmax]));
        correct += argmax == label ? 1 : 0;
      }
      loss_sums[part] = loss_sum;
      corrects[part] = correct;
    }
  });
  BatchStats stats;
  for (int part = 0; part < threads; ++part) {
    stats.loss += loss_sums[part];
    stats.correct += corrects[part];
  }
  stats.loss = B > 0 ? stats.loss / double(B) : 0.0;
  stats.count = B;
  return stats;
}

void sgd_update(float* w, const float* g, float* v, int64_t n, float lr, float momentum, bool nesterov,
                float weight_decay) {
  if (weight_decay != 0.0f || nesterov) {
    parallel_for(n, n, [&](int64_t begin, int64_t end) {
      sgd_decay_range(w, g, v, lr, momentum, nesterov, weight_decay, begin, end);
    });
    return;
  }
  float* velocity = momentum == 0.0f ? nullptr : v;
  parallel_for(n, n, [&](int64_t begin, int64_t end) { sgd_range(w, g, velocity, lr, momentum, begin, end); });
}

void adam_update(float* w, const float* g, float* m, float* s, int64_t n, float lr, int64_t step, float beta1,
                 float beta2, float eps, float weight_decay, bool decoupled) {
  AdamScalars k;
  k.beta1 = beta1;
  k.one_minus_beta1 = float(1.0 - double(beta1));
  k.beta2 = beta2;
  k.one_minus_beta2 = float(1.0 - double(beta2));
  k.eps = eps;
  k.keep = decoupled ? float(1.0 - double(lr) * double(weight_decay)) : 1.0f;
  k.coupled_decay = decoupled ? 0.0f : weight_decay;
  k.step_size = float(double(lr) / adam_bias_correction(beta1, step));
  k.correction2_sqrt = float(std::sqrt(adam_bias_correction(beta2, step)));
  parallel_for(n, 2 * n, [&](int64_t begin, int64_t end) { adam_range(w, g, m, s, k, begin, end); });
}

void optimizer_update(const OptimizerConfig& config, float* w, const float* g, OptimizerSlots slots, int64_t n,
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

}  // namespace cudamlp::cpu
