// DeviceOps: the GPU ops as a table of host functions, filled twice from the same kernel source:
//   cuda_ops()      the real GPU (built by nvcc; nullptr in a build without CUDA)
//   emulated_ops()  the SIMT emulator on the CPU (always built), for CI and for debugging
// Tests drive both through this table and compare with the reference backend; the GPU backend runs on
// whichever it is given. All pointers passed to ops are device pointers (from alloc). Ops are queued on
// `stream` (nullptr: the default stream); the emulator runs them synchronously.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cudamlp/input_scale.h"
#include "cudamlp/optimizer.h"
#include "cudamlp/regularization.h"
#include "optimizer_slots.h"

namespace cudamlp {

// Handles of an executor's streams and captured graphs: a cudaStream_t and a cudaGraphExec_t on a GPU;
// on the emulator streams are null and graphs are its recorded launches. Opaque types of their own, so
// that a stream cannot be passed where a graph is expected.
struct DeviceStream;
struct DeviceGraph;

// Who computes the matrix products of the dense ops: our gemm_tiled with fused epilogues, or cuBLAS
// SGEMM (FP32; TF32 tensor cores only when asked) followed by elementwise epilogue passes.
enum class GemmEngine { kCustom, kCublas, kCublasTf32 };

// An epoch's training metrics, accumulated on the device (see metrics.cuh).
struct EpochTotals {
  double loss_sum;  // sum over samples of their loss
  long long correct;
  long long count;   // samples trained so far this epoch
  long long cursor;  // where the next batch starts in the epoch's order (count, unless a resume skipped)
};

struct DeviceOps {
  const char* name;  // "cuda" or "emulated"

  // --- memory ---
  void* (*alloc)(size_t bytes);
  void (*free)(void* pointer);
  void (*to_device)(void* device_dst, const void* host_src, size_t bytes);
  void (*to_host)(void* host_dst, const void* device_src, size_t bytes);
  void (*synchronize)();

  // --- streams and CUDA graphs (no streams on the emulator, which runs every launch at once) ---
  DeviceStream* (*stream_create)();  // nullptr on the emulator
  void (*stream_destroy)(DeviceStream* stream);
  // Captures what record(context) queues on stream into a graph, instantiated; returns its handle.
  DeviceGraph* (*graph_capture)(DeviceStream* stream, void (*record)(void* context), void* context);
  void (*graph_launch)(DeviceGraph* graph, DeviceStream* stream);
  void (*graph_destroy)(DeviceGraph* graph);

  // --- ops: shapes as in the reference ops (host/backends/reference/reference_ops.h) ---
  // x [B, D] = samples[indices[start + b]], uint8 pixels / 255 (scale kPixel255) or float features as they
  // are (kNone); batch_labels [B] likewise; start = *cursor (0 if null)
  void (*gather_batch)(const void* samples, InputScale scale, const uint8_t* labels, const int64_t* indices,
                       const long long* cursor, int B, int D, float* x, uint8_t* batch_labels, DeviceStream* stream);
  // gather_batch with each image distorted (regularization.h; the map of reference_ops.h's augment_batch),
  // drawn for the epoch step->epoch (device memory) under seed; scratch [B, 2, D] floats with elastic
  void (*augment_batch)(const uint8_t* pixels, const uint8_t* labels, const int64_t* indices, const long long* cursor,
                        int B, const Augmentation& augmentation, uint64_t seed, const StepValues* step, float* scratch,
                        float* x, uint8_t* batch_labels, DeviceStream* stream);
  // y [B, out] = x [B, in] W^T + b, then ReLU when relu
  void (*dense_forward)(const float* x, const float* W, const float* b, float* y, int B, int in, int out, bool relu,
                        GemmEngine engine, DeviceStream* stream);
  // dx [B, in] = dy [B, out] W [out, in]; when relu_mask zeroed where x <= 0, else times mask_scale
  // (dropout's 1 / (1 - P))
  void (*dense_backward_input)(const float* dy, const float* W, const float* x, float* dx, int B, int in, int out,
                               bool relu_mask, float mask_scale, GemmEngine engine, DeviceStream* stream);
  // Inverted dropout of hidden layer `layer`'s output y [B, units] in place (dropout_mask.h): row b is the
  // sample at position (*cursor, 0 if null) + offset + b of the epoch's order, in step step->step
  void (*dropout_forward)(float* y, int B, int units, float P, uint64_t seed, int layer, const StepValues* step,
                          const long long* cursor, int64_t offset, DeviceStream* stream);
  // dW [out, in] = dy^T x; db [out] = column sums of dy
  void (*dense_backward_weights)(const float* dy, const float* x, float* dW, float* db, int B, int in, int out,
                                 GemmEngine engine, DeviceStream* stream);
  // probs, dlogits [B, C]; loss [1] mean; correct [1]. labels == nullptr: probabilities only.
  void (*softmax_xent)(const float* logits, const uint8_t* labels, float* probs, float* dlogits, float* loss,
                       int* correct, int B, int C, DeviceStream* stream);
  // The update of config's optimizer over the n parameters w of one tensor from gradients g with its
  // slots (optimizer.h), reading this step's values from *step (device memory); decay: the tensor takes
  // config's weight decay (weights do, biases do not)
  void (*optimizer_update)(const OptimizerConfig& config, float* w, const float* g, OptimizerSlots slots, int64_t n,
                           const StepValues* step, bool decay, DeviceStream* stream);
  // *step = values, queued after the work before it (no wait for it)
  void (*set_step_values)(StepValues* step, StepValues values, DeviceStream* stream);
  // totals += {loss * batch, correct, batch} (nothing when batch is 0); totals.cursor += advance
  void (*accumulate_metrics)(const float* loss, const int* correct, int batch, int advance, EpochTotals* totals,
                             DeviceStream* stream);
  // totals.cursor = cursor, queued after the steps before it (no wait for them)
  void (*set_cursor)(EpochTotals* totals, long long cursor, DeviceStream* stream);
  // order [n] = the epoch's sample order (shuffled_indices() when shuffle, else 0..n-1); keys [n] scratch
  void (*epoch_order)(int64_t* order, uint64_t* keys, int64_t n, uint64_t epoch_seed, bool shuffle, DeviceStream* stream);
};

const DeviceOps& emulated_ops();
const DeviceOps* cuda_ops();

}  // namespace cudamlp
