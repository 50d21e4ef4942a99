// Builds a DeviceOps table from the kernel sources. Included once by device_ops_cuda.cu (nvcc: real
// launches) and once by device_ops_emulated.cpp (g++: simt emulator); the kernels are the same text.
#pragma once

#include "dense_backward.cuh"
#include "dense_forward.cuh"
#include "device_ops.h"
#include "gather_batch.cuh"
#include "sgd_update.cuh"
#include "softmax_xent.cuh"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

inline simt::Stream as_stream(void* stream) { return static_cast<simt::Stream>(stream); }

// alloc/free/copies differ between the two executors; the ops do not.
inline DeviceOps make_device_ops(const char* name, void* (*alloc)(size_t), void (*free)(void*),
                                 void (*to_device)(void*, const void*, size_t),
                                 void (*to_host)(void*, const void*, size_t), void (*synchronize)()) {
  DeviceOps ops{};
  ops.name = name;
  ops.alloc = alloc;
  ops.free = free;
  ops.to_device = to_device;
  ops.to_host = to_host;
  ops.synchronize = synchronize;
  ops.gather_batch = [](const uint8_t* pixels, const uint8_t* labels, const int64_t* indices, int B, int D, float* x,
                        uint8_t* batch_labels, void* stream) {
    gather_batch(pixels, labels, indices, B, D, x, batch_labels, as_stream(stream));
  };
  ops.dense_forward = [](const float* x, const float* W, const float* b, float* y, int B, int in, int out, bool relu,
                         void* stream) { dense_forward(x, W, b, y, B, in, out, relu, as_stream(stream)); };
  ops.dense_backward_input = [](const float* dy, const float* W, const float* x, float* dx, int B, int in, int out,
                                bool relu_mask, void* stream) {
    dense_backward_input(dy, W, x, dx, B, in, out, relu_mask, as_stream(stream));
  };
  ops.dense_backward_weights = [](const float* dy, const float* x, float* dW, float* db, int B, int in, int out,
                                  void* stream) { dense_backward_weights(dy, x, dW, db, B, in, out, as_stream(stream)); };
  ops.softmax_xent = [](const float* logits, const uint8_t* labels, float* probs, float* dlogits, float* loss,
                        int* correct, int B, int C, void* stream) {
    softmax_xent(logits, labels, probs, dlogits, loss, correct, B, C, as_stream(stream));
  };
  ops.sgd_update = [](float* w, const float* g, float* v, int64_t n, float lr, float momentum, void* stream) {
    sgd_update(w, g, v, n, lr, momentum, as_stream(stream));
  };
  return ops;
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
