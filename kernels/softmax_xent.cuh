// softmax_xent: softmax + cross-entropy, fused, max-subtracted so exp never overflows. Per row of
// logits it writes the probabilities and dLogits = (p - onehot(label)) / B (the gradient of the mean
// loss), and the kernel ends with the batch's mean loss and how many rows' first largest logit is the
// label. With labels == nullptr it only writes the probabilities (inference).
//
// One block of 256 threads (8 warps) for the whole batch: warp w takes rows w, w + 8, ...; lane l takes
// classes l, l + 32, ...; row maxima, sums and argmax are warp shuffles. Each warp keeps its rows' loss
// in double, and the block adds the 8 warps' totals in a fixed order, so the loss is deterministic.
// Sized for classification heads (C of 10 to a few hundred); any B >= 1 and C >= 1 work.
//   logits, probs, dlogits: [B, C]   labels: [B]   loss: [1] (mean)   correct: [1]
#pragma once

#include <cfloat>
#include <climits>

#include "simt.h"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

constexpr int kSoftmaxWarps = 8;

__device__ __forceinline__ float warp_max(float value) {
  for (int offset = 16; offset > 0; offset /= 2) value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  return value;
}

__device__ __forceinline__ float warp_sum(float value) {
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// The lowest class index whose value equals the row maximum (the reference's "first largest").
__device__ __forceinline__ int warp_first_index_of(float value, float max, int index) {
  int candidate = value == max ? index : INT_MAX;
  for (int offset = 16; offset > 0; offset /= 2) candidate = min(candidate, __shfl_xor_sync(0xffffffffu, candidate, offset));
  return candidate;
}

__global__ void softmax_xent_kernel(const float* __restrict__ logits, const uint8_t* __restrict__ labels,
                                    float* __restrict__ probs, float* __restrict__ dlogits, float* __restrict__ loss,
                                    int* __restrict__ correct, int B, int C) {
  __shared__ double warp_loss[kSoftmaxWarps];
  __shared__ int warp_correct[kSoftmaxWarps];
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  double my_loss = 0.0;  // meaningful in lane 0
  int my_correct = 0;
  for (int64_t n = warp; n < B; n += kSoftmaxWarps) {
    const float* row = logits + n * C;
    // Row maximum and index of its first occurrence.
    float max = -FLT_MAX, best = -FLT_MAX;
    int best_index = INT_MAX;
    for (int c = lane; c < C; c += 32) {
      if (row[c] > best) {
        best = row[c];
        best_index = c;
      }
    }
    max = warp_max(best);
    const int argmax = warp_first_index_of(best, max, best_index);
    float sum = 0.0f;
    for (int c = lane; c < C; c += 32) sum += expf(row[c] - max);
    sum = warp_sum(sum);
    const int label = labels ? int(labels[n]) : -1;
    for (int c = lane; c < C; c += 32) {
      const float p = expf(row[c] - max) / sum;
      probs[n * C + c] = p;
      if (labels) dlogits[n * C + c] = (p - (c == label ? 1.0f : 0.0f)) / float(B);
    }
    if (labels && lane == 0) {
      my_loss += double(logf(sum)) - (double(row[label]) - double(max));
      my_correct += argmax == label;
    }
  }
  if (!labels) return;  // uniform across the block: no thread reaches the barrier below
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
  simt::launch(softmax_xent_kernel, dim3(1), dim3(32 * kSoftmaxWarps), 0, stream, logits, labels, probs, dlogits,
               loss, correct, B, C);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
