// Builds a DeviceOps table from the kernel sources. Included once by device_ops_cuda.cu (nvcc: real
// launches) and once by device_ops_emulated.cpp (g++: simt emulator); the kernels are the same text.
#pragma once

#include "augment_batch.cuh"
#include "bias_relu.cuh"
#include "cublas_gemm.cuh"
#include "dense_backward.cuh"
#include "dense_forward.cuh"
#include "device_ops.h"
#include "dropout_forward.cuh"
#include "epoch_order.h"
#include "gather_batch.cuh"
#include "metrics.cuh"
#include "optimizer_update.cuh"
#include "softmax_xent.cuh"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

// A stream handle as the executor knows it: cudaStream_t under nvcc, the emulator's (always null) void*.
inline simt::Stream as_stream(DeviceStream* stream) { return reinterpret_cast<simt::Stream>(stream); }

// Runs an op now; on the emulator, while a graph is being captured, records it for every replay instead
// (on a GPU, CUDA's stream capture does that for the launches the op makes).
template <typename Op>
void queue(Op op) {
#if SIMT_EMULATED
  if (simt::capturing()) return simt::record(op);
#endif
  op();
}

// The dense ops on either engine: gemm_tiled with fused epilogues, or cuBLAS then epilogue passes.
inline void dense_forward_on(GemmEngine engine, const float* x, const float* W, const float* b, float* y, int B,
                             int in, int out, bool relu, simt::Stream stream) {
  if (engine == GemmEngine::kCustom) return dense_forward(x, W, b, y, B, in, out, relu, stream);
  cublas_gemm(cublas_context(), false, true, B, out, in, x, W, y, engine == GemmEngine::kCublasTf32, stream);
  bias_relu(y, b, B, out, relu, stream);
}

inline void dense_backward_input_on(GemmEngine engine, const float* dy, const float* W, const float* x, float* dx,
                                    int B, int in, int out, bool relu_mask, float mask_scale, simt::Stream stream) {
  if (engine == GemmEngine::kCustom)
    return dense_backward_input(dy, W, x, dx, B, in, out, relu_mask, mask_scale, stream);
  cublas_gemm(cublas_context(), false, false, B, in, out, dy, W, dx, engine == GemmEngine::kCublasTf32, stream);
  if (relu_mask) relu_mask_pass(dx, x, int64_t(B) * in, mask_scale, stream);
}

inline void dense_backward_weights_on(GemmEngine engine, const float* dy, const float* x, float* dW, float* db, int B,
                                      int in, int out, simt::Stream stream) {
  if (engine == GemmEngine::kCustom) return dense_backward_weights(dy, x, dW, db, B, in, out, stream);
  cublas_gemm(cublas_context(), true, false, out, in, B, dy, x, dW, engine == GemmEngine::kCublasTf32, stream);
  column_sums_of(dy, db, B, out, stream);
}

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
  ops.gather_batch = [](const void* samples, InputScale scale, const uint8_t* labels, const int64_t* indices,
                        const long long* cursor, int B, int D, float* x, uint8_t* batch_labels, DeviceStream* stream) {
    queue([=] { gather_batch(samples, scale, labels, indices, cursor, B, D, x, batch_labels, as_stream(stream)); });
  };
  ops.augment_batch = [](const uint8_t* pixels, const uint8_t* labels, const int64_t* indices, const long long* cursor,
                         int B, const Augmentation& augmentation, uint64_t seed, const StepValues* step, float* scratch,
                         float* x, uint8_t* batch_labels, DeviceStream* stream) {
    queue([=] {
      augment_batch(pixels, labels, indices, cursor, B, augmentation, seed, step, scratch, x, batch_labels,
                    as_stream(stream));
    });
  };
  ops.dense_forward = [](const float* x, const float* W, const float* b, float* y, int B, int in, int out, bool relu,
                         GemmEngine engine, DeviceStream* stream) {
    queue([=] { dense_forward_on(engine, x, W, b, y, B, in, out, relu, as_stream(stream)); });
  };
  ops.dense_backward_input = [](const float* dy, const float* W, const float* x, float* dx, int B, int in, int out,
                                bool relu_mask, float mask_scale, GemmEngine engine, DeviceStream* stream) {
    queue([=] { dense_backward_input_on(engine, dy, W, x, dx, B, in, out, relu_mask, mask_scale, as_stream(stream)); });
  };
  ops.dropout_forward = [](float* y, int B, int units, float P, uint64_t seed, int layer, const StepValues* step,
                           const long long* cursor, int64_t offset, DeviceStream* stream) {
    queue([=] { dropout_forward(y, B, units, P, seed, layer, step, cursor, offset, as_stream(stream)); });
  };
  ops.dense_backward_weights = [](const float* dy, const float* x, float* dW, float* db, int B, int in, int out,
                                  GemmEngine engine, DeviceStream* stream) {
    queue([=] { dense_backward_weights_on(engine, dy, x, dW, db, B, in, out, as_stream(stream)); });
  };
  ops.softmax_xent = [](const float* logits, const uint8_t* labels, float* probs, float* dlogits, float* loss,
                        int* correct, int B, int C, DeviceStream* stream) {
    queue([=] { softmax_xent(logits, labels, probs, dlogits, loss, correct, B, C, as_stream(stream)); });
  };
  ops.optimizer_update = [](const OptimizerConfig& config, float* w, const float* g, OptimizerSlots slots, int64_t n,
                            const StepValues* step, bool decay, DeviceStream* stream) {
    queue([=] { optimizer_update(config, w, g, slots, n, step, decay, as_stream(stream)); });
  };
  ops.set_step_values = [](StepValues* step, StepValues values, DeviceStream* stream) {
    queue([=] { set_step_values(step, values, as_stream(stream)); });
  };
  ops.accumulate_metrics = [](const float* loss, const int* correct, int batch, int advance, EpochTotals* totals,
                               DeviceStream* stream) {
    queue([=] { accumulate_metrics(loss, correct, batch, advance, totals, as_stream(stream)); });
  };
  ops.set_cursor = [](EpochTotals* totals, long long cursor, DeviceStream* stream) {
    queue([=] { set_cursor(totals, cursor, as_stream(stream)); });
  };
  ops.epoch_order = [](int64_t* order, uint64_t* keys, int64_t n, uint64_t epoch_seed, bool shuffle, DeviceStream* stream) {
#if SIMT_EMULATED
    if (simt::capturing())  // as on a GPU, where Thrust allocates and synchronises
      throw Error("simt emulator: epoch_order (Thrust) cannot be part of a graph capture");
#endif
    queue([=] { epoch_order(order, keys, n, epoch_seed, shuffle, stream); });
  };
  return ops;
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
