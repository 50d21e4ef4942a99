// The `gpu` backend: trains on a DeviceOps executor, i.e. on a real GPU (cuda_ops()) or, as
// `gpu-emulated`, on the SIMT emulator (emulated_ops()) with the very same host code and kernel source.
//
// Everything lives on the device: the training set as uint8 (scaled while gathering each batch), the
// epoch's sample order (computed there with Thrust), the flat parameters, gradients and optimizer slots,
// activations, this step's values (learning rate, step number) and the epoch's metrics. A training step
// copies nothing between host and device; metrics come back only when epoch_stats() is asked for them. On
// a real GPU the step's ~20 launches are captured once per batch size into a CUDA graph and replayed, so
// small networks are not bound by launch overhead: the step reads where its batch starts from a
// device-side cursor it advances itself, and its learning rate from device memory written in stream order
// before each replay, so one graph per batch size serves any schedule.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "cudamlp/backend.h"
#include "device_all_reduce.h"
#include "device_buffer.h"
#include "device_ops.h"
#include "step_phases.h"
#include "training_step.h"

namespace cudamlp {

// With per-layer engine choice (--gemm auto), layers with fewer weights than this use our fused kernels
// (fewer launches: what small networks like 784-10-10-10 are bound by), larger ones cuBLAS.
// Provisional until `cudamlp bench` on a GPU has measured the crossover.
inline constexpr int64_t kCublasFromWeights = 128 * 128;

class GpuBackend final : public Backend, public StepPhases, private TrainingStepParts {
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
  std::string name() const override;
  BackendTraits traits() const override { return {.metrics_on_device = true}; }

  void set_model(const Model& model, const OptimizerConfig& optimizer) override;
  Model model() const override;
  const Network& network() const override { return network_; }
  OptimizerConfig optimizer() const override { return optimizer_; }
  OptimizerState optimizer_state() const override;
  void set_optimizer_state(const OptimizerState& state) override;
  void set_regularization(const Regularization& regularization) override;
  Regularization regularization() const override { return regularization_; }

  void set_training_data(const Dataset& data) override;
  void begin_epoch(const EpochPlan& plan) override;
  void train_batch(int64_t first, int64_t count, const StepValues& step) override;
  BatchStats epoch_stats() override;

  void predict(const float* x, int64_t n, float* probs) override;

  // --- StepPhases (tests): forward() uploads its indices, loss() reads the metrics back ---
  using StepPhases::forward;
  void forward(std::span<const int64_t> indices, const StepValues& step, int64_t first) override;
  BatchStats loss() override;
  void backward() override;
  std::vector<float> gradients() const override;
  void update(const StepValues& step) override;

 private:
  struct Layer {
    int in = 0, out = 0;
    bool relu = false;       // a ReLU follows the affine map
    GemmEngine engine = GemmEngine::kCustom;
    float* weight = nullptr; // W [out, in], inside parameters_
    float* bias = nullptr;   // b [out]
    float* weight_grad = nullptr;  // the same offsets inside gradients_
    float* bias_grad = nullptr;
  };

  // TrainingStepParts: the step of run_training_step, queued on stream_. Where the batch starts and the
  // step's values come from the device (the cursor, step_values_), so a replayed graph takes each step's.
  void train_shard(int64_t first, const Shard& shard, int64_t count, const StepValues& step) override;
  void sum_gradients(float scale) override;
  void apply_update(const StepValues& step) override;

  void reserve_batch(int64_t batch);  // step buffers for batches up to `batch`
  void allocate_batch_buffers(int64_t batch);
  // gather (samples device_indices[*cursor + b], cursor null: 0) + layers, on the step buffers, with
  // dropout's masks of step step_values_->step at positions *cursor (null: 0) + position_offset + b
  void run_forward(const int64_t* device_indices, const long long* cursor, int64_t batch, int64_t position_offset);
  void run_loss(int64_t batch);
  void run_backward(int64_t batch);
  void drop_graphs();
  std::vector<float> download(const DeviceBuffer& buffer) const;  // a flat buffer of parameter_count_ floats

  const DeviceOps& ops_;
  std::unique_ptr<DeviceAllReduce> all_reduce_;  // when training data-parallel over several ranks
  GemmEngine engine_;
  bool choose_per_layer_;
  bool cuda_graphs_;
  DeviceStream* stream_ = nullptr;  // where every op is queued (null: the emulator's synchronous launches)
  // Training-step graphs by batch size; nullptr after the one eager step that precedes each capture.
  std::map<int64_t, DeviceGraph*> graphs_;
  int64_t host_cursor_ = 0;  // samples of the epoch trained so far, as the host counts them

  // The model and the optimizer: flat buffers in the network's layout.
  Network network_;
  OptimizerConfig optimizer_;
  int64_t parameter_count_ = 0;
  std::vector<Layer> layers_;
  DeviceBuffer parameters_;         // [parameter_count_]
  DeviceBuffer gradients_;          // [parameter_count_]: one all-reduce sums them all
  std::vector<DeviceBuffer> slots_; // optimizer_slots(optimizer_) order, each [parameter_count_]
  DeviceBuffer step_values_;        // StepValues: this step's, written by set_step_values
  Regularization regularization_;
  DeviceBuffer augment_scratch_;    // [capacity_, 2, D] float: augment_batch's elastic fields (elastic only)

  // Training set and epoch order.
  int64_t samples_ = 0;
  int dim_ = 0;
  InputScale input_scale_ = InputScale::kPixel255;  // which samples_buffer_ holds
  DeviceBuffer samples_buffer_;  // [N, D] uint8 pixels (kPixel255) or float features (kNone)
  DeviceBuffer labels_;          // [N] uint8
  DeviceBuffer order_;           // [N] int64: the epoch's sample order
  DeviceBuffer keys_;            // [N] uint64 scratch for the shuffle
  DeviceBuffer totals_;          // EpochTotals
  bool epoch_started_ = false;

  // Step buffers, sized for the largest batch seen.
  int64_t capacity_ = 0;
  int64_t batch_ = 0;                      // size of the last forward's batch
  std::vector<DeviceBuffer> activations_;  // [l]: layer l's input [B, sizes[l]]; back(): logits [B, C]
  std::vector<DeviceBuffer> deltas_;       // dLoss/d(layer l's input), for l >= 1
  DeviceBuffer batch_labels_;              // [B] uint8
  DeviceBuffer probs_, dlogits_;           // [B, C]
  DeviceBuffer step_loss_, step_correct_;  // [1] float, [1] int
  DeviceBuffer indices_;                   // [B] int64, for forward() with host indices

  // predict()'s own buffers, [rows, widest layer] twice and the probabilities [rows, C] for up to
  // kPredictChunk rows: predicting leaves the step buffers and the captured graphs alone.
  int64_t predict_capacity_ = 0;  // rows
  DeviceBuffer predict_buffers_[2];
  DeviceBuffer predict_probs_;
};

}  // namespace cudamlp
