// softmax_xent: softmax + cross-entropy, fused, max-subtracted so exp never overflows. Per row of
// logits it writes the probabilities and dLogits = (p - onehot(label)) / B (the gradient of the mean
// loss), and the kernel ends with the batch's mean loss and how many rows' first largest logit is the
// label. With labels == nullptr it only writes the probabilities (inference).
//
// One block of 1024 threads (32 warps) for the whole batch, mapped by C:
//   C <= 32 (classification heads like MNIST's 10): a thread per row, rows t, t + 1024, ...; a row is a
//     short loop over its classes. (A warp per row would leave 22 of 32 lanes idle at C = 10 and pay
//     15 shuffles per row: at batch 8192 each of 8 warps walked 1024 rows one after another.)
//   C > 32: a warp per row, rows w, w + 32, ...; lane l takes classes l, l + 32, ...; row maxima, sums
//     and argmax are warp shuffles.
// Each thread keeps its rows' loss in double; the block adds them in a fixed order (a shuffle tree per
// warp, then the 32 warps' totals in turn), so the loss is deterministic. One block, not one per group
// of rows: adding blocks' totals in a fixed order would take a second launch and a scratch buffer, for
// a pass over B x C floats that one SM streams in microseconds. Any B >= 1 and C >= 1 work.
//   logits, probs, dlogits: [B, C]   labels: [B]   loss: [1] (mean)   correct: [1]
#pragma once

#include <cfloat>
#include <climits>

#include "simt.h"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

constexpr int kSoftmaxWarps = 32;
constexpr int kSoftmaxThreads = 32 * kSoftmaxWarps;
constexpr int kSoftmaxThreadPerRowMaxClasses = 32;

__device__ __forceinline__ float warp_max(float value) {
  for (int offset = 16; offset > 0; offset /= 2) value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  return value;
}

template <typename T>
__device__ __forceinline__ T warp_sum(T value) {
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// The lowest class index whose value equals the row maximum (the reference's "first largest").
__device__ __forceinline__ int warp_first_index_of(float value, float max, int index) {
  int candidate = value == max ? index : INT_MAX;
  for (int offset = 16; offset > 0; offset /= 2) candidate = min(candidate, __shfl_xor_sync(0xffffffffu, candidate, offset));
  return candidate;
}

// Row n by kLanes threads (1, or a whole warp: then every lane calls it): lane l takes classes l,
// l + kLanes, ...; a warp combines its lanes' maxima, argmax and sums by shuffles. Writes the row's
// probabilities (and dLogits); lane 0 adds its loss and hit to loss, correct.
template <int kLanes>
__device__ __forceinline__ void softmax_row(const float* __restrict__ logits, const uint8_t* __restrict__ labels,
                                            float* __restrict__ probs, float* __restrict__ dlogits, int64_t n, int B,
                                            int C, int lane, double& loss, int& correct) {
  static_assert(kLanes == 1 || kLanes == 32, "a row is one thread's or one warp's");
  const float* row = logits + n * C;
  float best = -FLT_MAX;
  int best_index = INT_MAX;
  for (int c = lane; c < C; c += kLanes) {
    if (row[c] > best) {
      best = row[c];
      best_index = c;
    }
  }
  const float max = kLanes == 1 ? best : warp_max(best);
  const int argmax = kLanes == 1 ? best_index : warp_first_index_of(best, max, best_index);
  float sum = 0.0f;
  for (int c = lane; c < C; c += kLanes) sum += expf(row[c] - max);
  if (kLanes > 1) sum = warp_sum(sum);
  const int label = labels ? int(labels[n]) : -1;
  for (int c = lane; c < C; c += kLanes) {
    const float p = expf(row[c] - max) / sum;
    probs[n * C + c] = p;
    if (labels) dlogits[n * C + c] = (p - (c == label ? 1.0f : 0.0f)) / float(B);
  }
  if (labels && lane == 0) {
    loss += double(logf(sum)) - (double(row[label]) - double(max));
    correct += argmax == label;
  }
}

// Launch bounds: nvcc must keep the kernel within 64 registers a thread, or 1024 threads cannot launch.
__global__ void __launch_bounds__(kSoftmaxThreads)
    softmax_xent_kernel(const float* __restrict__ logits, const uint8_t* __restrict__ labels, float* __restrict__ probs,
                        float* __restrict__ dlogits, float* __restrict__ loss, int* __restrict__ correct, int B, int C) {
  __shared__ double warp_loss[kSoftmaxWarps];
  __shared__ int warp_correct[kSoftmaxWarps];
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  double my_loss = 0.0;
  int my_correct = 0;
  if (C <= kSoftmaxThreadPerRowMaxClasses) {
    for (int64_t n = threadIdx.x; n < B; n += kSoftmaxThreads)
      softmax_row<1>(logits, labels, probs, dlogits, n, B, C, 0, my_loss, my_correct);
  } else {
    for (int64_t n = warp; n < B; n += kSoftmaxWarps)
      softmax_row<32>(logits, labels, probs, dlogits, n, B, C, lane, my_loss, my_correct);
  }
  if (!labels) return;  // uniform across the block: no thread reaches the barrier below
  my_loss = warp_sum(my_loss);
  my_correct = warp_sum(my_correct);
  if (lane == 0) {
    warp_loss[warp] = my_loss;
    warp_correct[warp] = my_correct;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0.0;
    int total_correct = 0;
    for (int w = 0; w < kSoftmaxWarps; ++w) {
      total += warp_loss[w];
      total_correct += warp_correct[w];
    }
    *loss = float(total / B);
    *correct = total_correct;
  }
}

inline void softmax_xent(const float* logits, const uint8_t* labels, float* probs, float* dlogits, float* loss,
                         int* correct, int B, int C, simt::Stream stream) {
  simt::launch(softmax_xent_kernel, dim3(1), dim3(kSoftmaxThreads), 0, stream, logits, labels, probs, dlogits, loss,
               correct, B, C);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
