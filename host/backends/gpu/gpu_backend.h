// The `gpu` backend: trains on a DeviceOps executor, i.e. on a real GPU (cuda_ops()) or, as
// `gpu-emulated`, on the SIMT emulator (emulated_ops()) with the very same host code and kernel source.
//
// Everything lives on the device: the training set as uint8 (scaled while gathering each batch), the
// epoch's sample order (computed there with Thrust), parameters, gradients, momentum buffers,
// activations and the epoch's metrics. A training step copies nothing between host and device; metrics
// come back only when epoch_stats() is asked for them. On a real GPU the step's ~20 launches are
// captured once per batch size into a CUDA graph and replayed, so small networks are not bound by
// launch overhead; the step reads where its batch starts from a device-side cursor it advances itself.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "cudamlp/backend.h"
#include "device_all_reduce.h"
#include "device_buffer.h"
#include "device_ops.h"

namespace cudamlp {

// With per-layer engine choice (--gemm auto), layers with fewer weights than this use our fused kernels
// (fewer launches: what small networks like 784-10-10-10 are bound by), larger ones cuBLAS.
// Provisional until `cudamlp bench` on a GPU has measured the crossover.
inline constexpr int64_t kCublasFromWeights = 128 * 128;

class GpuBackend final : public Backend {
 public:
  // engine: the GEMM engine of every layer, or with choose_per_layer the cuBLAS flavour for the layers
  // with at least kCublasFromWeights weights.
  // cuda_graphs: capture and replay the training step where the executor supports graphs.
  // communicator: train data-parallel with these ranks, each on the GPU of its local rank, gradients
  // summed by all_reduce (NCCL; required with a communicator of several ranks). Such steps run eagerly,
  // not as graphs: the bounded wait on each sum needs the host.
  GpuBackend(const DeviceOps& ops, GemmEngine engine, bool choose_per_layer = false, bool cuda_graphs = true,
             Communicator* communicator = nullptr, std::unique_ptr<DeviceAllReduce> all_reduce = nullptr);
  ~GpuBackend() override;
  GpuBackend(const GpuBackend&) = delete;
  GpuBackend& operator=(const GpuBackend&) = delete;
  std::string name() const override;

  void set_model(const Mlp& model) override;
  Mlp model() const override;
  void set_training_data(const Dataset& data) override;

  void forward(std::span<const int64_t> indices) override;
  BatchStats loss() override;
  void backward() override;
  Mlp gradients() const override;
  void sum_gradients(float scale) override;
  void update(const SgdOptions& sgd) override;
  Mlp optimizer_state() const override;
  void set_optimizer_state(const Mlp& velocity) override;

  void begin_epoch(const EpochPlan& plan) override;
  void train_batch(int64_t first, int64_t count, const SgdOptions& sgd) override;
  BatchStats epoch_stats() override;
  bool epoch_stats_waits_for_device() const override { return true; }

  void predict(const float* x, int64_t n, float* probs) override;

 private:
  struct Layer {
    int in = 0, out = 0;
    GemmEngine engine = GemmEngine::kCustom;
    DeviceBuffer weight, bias;  // W [out, in], b [out]
    float* weight_grad = nullptr;  // same shapes, inside gradients_
    float* bias_grad = nullptr;
    DeviceBuffer weight_velocity, bias_velocity;
  };

  void reserve_batch(int64_t batch);                   // activation buffers for batches up to `batch`
  void allocate_batch_buffers(int64_t batch, int layers);
  // gather (samples device_indices[*cursor + b], cursor null: 0) + layers
  void run_forward(const int64_t* device_indices, const long long* cursor, int64_t batch);
  void record_step(int64_t batch, const SgdOptions& sgd);  // a whole training step, queued on stream_
  void train_shard(int64_t count, const SgdOptions& sgd);  // a data-parallel step on this rank's shard
  void drop_graphs();
  void run_loss(int64_t batch);
  void run_backward(int64_t batch);
  void run_update(const SgdOptions& sgd);
  enum class Buffers { kWeights, kGradients, kVelocity };
  Mlp download(Buffers which) const;

  const DeviceOps& ops_;
  std::unique_ptr<DeviceAllReduce> all_reduce_;  // when training data-parallel over several ranks
  GemmEngine engine_;
  bool choose_per_layer_;
  bool cuda_graphs_;
  DeviceStream* stream_ = nullptr;  // where every op is queued (null: the emulator's synchronous launches)
  // Training-step graphs by (batch, lr, momentum), kernel arguments baked in; nullptr after the one
  // eager step that precedes each capture.
  std::map<std::tuple<int64_t, float, float>, DeviceGraph*> graphs_;
  int64_t host_cursor_ = 0;  // samples of the epoch trained so far, as the host counts them
  std::vector<Layer> layers_;
  std::vector<int> sizes_;  // [D, hidden..., C]
  DeviceBuffer gradients_;  // every layer's dW and db, one after the other: one all-reduce sums them
  int64_t gradient_count_ = 0;

  // Training set and epoch order.
  int64_t samples_ = 0;
  int dim_ = 0;
  DeviceBuffer pixels_;    // [N, D] uint8
  DeviceBuffer labels_;    // [N] uint8
  DeviceBuffer order_;     // [N] int64: the epoch's sample order
  DeviceBuffer keys_;      // [N] uint64 scratch for the shuffle
  DeviceBuffer totals_;    // EpochTotals
  bool epoch_started_ = false;

  // Per-step buffers, sized for the largest batch seen.
  int64_t capacity_ = 0;
  int64_t batch_ = 0;                      // size of the last forward's batch
  std::vector<DeviceBuffer> activations_;  // [l]: layer l's input [B, sizes[l]]; back(): logits [B, C]
  std::vector<DeviceBuffer> deltas_;       // dLoss/d(layer l's input), for l >= 1
  DeviceBuffer batch_labels_;              // [B] uint8
  DeviceBuffer probs_, dlogits_;           // [B, C]
  DeviceBuffer step_loss_, step_correct_;  // [1] float, [1] int
  DeviceBuffer indices_;                   // [B] int64, for forward() with host indices
};

}  // namespace cudamlp
