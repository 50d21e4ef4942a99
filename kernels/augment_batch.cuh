// augment_batch: gather_batch with each image distorted on the way (regularization.h; the map, the draws
// and the elastic fields exactly as reference_ops.h's augment_batch defines them, computed in float):
// row b of x is sample indices[start + b] (start = *cursor, 0 when null) resampled bilinearly at the
// source of each output pixel. The epoch that draws the distortion is read from step->epoch on the
// device, so a captured CUDA graph replays every later step with that step's epoch.
//   pixels: [N, D] uint8   labels: [N]   indices: [start + B]   x: [B, D] float   batch_labels: [B]
//   scratch: [B, 2, D] float, the elastic fields smoothed along x (only with elastic_alpha > 0)
// Two passes when elastic: elastic_along_x draws the raw field at every tap (a counter hash, no raw
// buffer) and smooths it along the row; augment_gather smooths that along the column, adds the affine
// map and interpolates. Without elastic only the second runs. Grid (B, ceil(D / 256)) each, 256 threads.
// Limits: the Gaussian's radius ceil(3 sigma) <= 192 (sigma <= 64, check_regularization).
#pragma once

#include <cmath>

#include "cudamlp/counter_random.h"
#include "cudamlp/optimizer.h"
#include "cudamlp/regularization.h"
#include "simt.h"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

__device__ inline float augment_draw(uint64_t seed, long long epoch, int64_t sample, uint64_t k) {
  return counter_symmetric(counter_bits(seed, RandomUse::kAugmentation, uint64_t(epoch), uint64_t(sample), k));
}

// The normalised Gaussian's weight at tap k of radius R (the total recomputed per thread: 2R + 1 exps).
__device__ inline float gaussian_total(int R, float sigma) {
  float total = 0.0f;
  for (int k = -R; k <= R; ++k) total += expf(-float(k * k) / (2.0f * sigma * sigma));
  return total;
}

__global__ void elastic_along_x_kernel(const int64_t* __restrict__ indices, const long long* __restrict__ cursor,
                                       Augmentation a, uint64_t seed, const StepValues* __restrict__ step,
                                       float* __restrict__ scratch) {
  const int D = a.rows * a.cols;
  const int64_t b = blockIdx.x;
  const int p = int(blockIdx.y) * int(blockDim.x) + int(threadIdx.x);
  if (p >= D) return;
  const int64_t sample = indices[(cursor ? *cursor : 0) + b];
  const long long epoch = step->epoch;
  const int r = p / a.cols, c = p % a.cols;
  const float sigma = a.elastic_sigma;
  const int R = int(ceilf(3.0f * sigma));
  const float inverse_total = 1.0f / gaussian_total(R, sigma);
  for (int axis = 0; axis < 2; ++axis) {
    float sum = 0.0f;
    for (int k = -R; k <= R; ++k) {
      if (c + k < 0 || c + k >= a.cols) continue;
      const float w = expf(-float(k * k) / (2.0f * sigma * sigma)) * inverse_total;
      sum += w * augment_draw(seed, epoch, sample, 16 + 2 * uint64_t(r * a.cols + c + k) + uint64_t(axis));
    }
    scratch[(b * 2 + axis) * D + p] = sum;
  }
}

__global__ void augment_gather_kernel(const uint8_t* __restrict__ pixels, const uint8_t* __restrict__ labels,
                                      const int64_t* __restrict__ indices, const long long* __restrict__ cursor,
                                      Augmentation a, uint64_t seed, const StepValues* __restrict__ step,
                                      const float* __restrict__ scratch, float* __restrict__ x,
                                      uint8_t* __restrict__ batch_labels) {
  const int rows = a.rows, cols = a.cols, D = rows * cols;
  const int64_t b = blockIdx.x;
  const int p = int(blockIdx.y) * int(blockDim.x) + int(threadIdx.x);
  const int64_t sample = indices[(cursor ? *cursor : 0) + b];
  if (p == 0) batch_labels[b] = labels[sample];
  if (p >= D) return;
  const long long epoch = step->epoch;
  const float angle = augment_draw(seed, epoch, sample, 0) * a.rotate_degrees * (3.14159265358979f / 180.0f);
  const float zoom = 1.0f + augment_draw(seed, epoch, sample, 1) * a.scale;
  const float shear = augment_draw(seed, epoch, sample, 2) * a.shear;
  const float shift_x = augment_draw(seed, epoch, sample, 3) * a.shift;
  const float shift_y = augment_draw(seed, epoch, sample, 4) * a.shift;
  const int r = p / cols, c = p % cols;
  float ex = 0.0f, ey = 0.0f;
  if (scratch != nullptr) {  // smooth the row-smoothed fields along the column
    const float sigma = a.elastic_sigma;
    const int R = int(ceilf(3.0f * sigma));
    const float inverse_total = 1.0f / gaussian_total(R, sigma);
    for (int k = -R; k <= R; ++k) {
      if (r + k < 0 || r + k >= rows) continue;
      const float w = expf(-float(k * k) / (2.0f * sigma * sigma)) * inverse_total;
      ex += w * scratch[(b * 2 + 0) * D + (r + k) * cols + c];
      ey += w * scratch[(b * 2 + 1) * D + (r + k) * cols + c];
    }
    ex *= a.elastic_alpha;
    ey *= a.elastic_alpha;
  }
  const float cy = float(rows - 1) * 0.5f, cx = float(cols - 1) * 0.5f;
  const float dy = float(r) - cy, dx = float(c) - cx;
  const float sheared = dx + shear * dy;
  const float cos_a = cosf(angle), sin_a = sinf(angle);
  const float sx = cx + (cos_a * sheared - sin_a * dy) / zoom + shift_x + ex;
  const float sy = cy + (sin_a * sheared + cos_a * dy) / zoom + shift_y + ey;
  const float y0 = floorf(sy), x0 = floorf(sx);
  const float fy = sy - y0, fx = sx - x0;
  const uint8_t* image = pixels + sample * D;
  float sum = 0.0f;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      const float yy = y0 + float(i), xx = x0 + float(j);
      if (yy < 0.0f || yy >= float(rows) || xx < 0.0f || xx >= float(cols)) continue;
      const float w = (i ? fy : 1.0f - fy) * (j ? fx : 1.0f - fx);
      sum += w * (float(image[int(yy) * cols + int(xx)]) / 255.0f);
    }
  x[b * D + p] = sum;
}

inline void augment_batch(const uint8_t* pixels, const uint8_t* labels, const int64_t* indices, const long long* cursor,
                          int B, const Augmentation& a, uint64_t seed, const StepValues* step, float* scratch, float* x,
                          uint8_t* batch_labels, simt::Stream stream) {
  constexpr int kThreads = 256;
  const int D = a.rows * a.cols;
  const dim3 grid(unsigned(B), unsigned((D + kThreads - 1) / kThreads));
  const bool elastic = a.elastic_alpha > 0.0f;
  if (elastic) simt::launch(elastic_along_x_kernel, grid, dim3(kThreads), 0, stream, indices, cursor, a, seed, step, scratch);
  simt::launch(augment_gather_kernel, grid, dim3(kThreads), 0, stream, pixels, labels, indices, cursor, a, seed, step,
               static_cast<const float*>(elastic ? scratch : nullptr), x, batch_labels);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
