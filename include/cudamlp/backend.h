// The backend interface: everything that computes. `reference` (host/backends/reference) is the oracle, plain
// loops in double; the fast `cpu` and `gpu` backends of later work implement the same interface, and the
// trainer, CLI and tests never ask which one they hold.
//
// A backend owns the whole training step (gather the batch, forward, softmax-xent, backward, update) so
// that a GPU backend can keep everything on the device. The phases are also callable one by one, so
// tests compare every backend with the reference phase by phase.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cudamlp/communicator.h"
#include "cudamlp/dataset.h"
#include "cudamlp/model.h"

namespace cudamlp {

struct SgdOptions {
  float lr = 0.1f;        // learning rate
  float momentum = 0.0f;  // PyTorch semantics: v = momentum * v + g; w -= lr * v (v starts at zero)
};

// Metrics of one batch: mean cross-entropy over its samples and how many were classified right.
struct BatchStats {
  double loss = 0.0;
  int64_t correct = 0;
  int64_t count = 0;
};

// The sample order of one epoch.
struct EpochPlan {
  int64_t samples = 0;  // N: the order is a permutation of [0, N)
  uint64_t seed = 1;
  int64_t epoch = 0;    // 0-based
  bool shuffle = true;  // false: file order
};

class Backend {
 public:
  // communicator: the ranks this backend trains with (data parallelism; not owned); nullptr: alone.
  explicit Backend(Communicator* communicator = nullptr) : communicator_(communicator) {}
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  Communicator* communicator() const { return communicator_; }

  // Copies the parameters in and zeroes the momentum buffers.
  virtual void set_model(const Mlp& model) = 0;
  virtual Mlp model() const = 0;

  // The training set, kept where the backend computes. `data` must outlive the backend's use of it
  // only until this call returns.
  virtual void set_training_data(const Dataset& data) = 0;

  // --- the phases of one training step, in order ---
  // Gathers samples `indices` of the training set (pixels scaled by scale_pixel) and runs the layers.
  virtual void forward(std::span<const int64_t> indices) = 0;
  // Softmax + cross-entropy of the last forward's logits against its labels; keeps dLoss/dLogits.
  virtual BatchStats loss() = 0;
  // Gradients of the batch's mean loss with respect to every weight and bias.
  virtual void backward() = 0;
  // The last backward's gradients, shaped like the model.
  virtual Mlp gradients() const = 0;
  // One SGD (with momentum) update from the last backward's gradients.
  virtual void update(const SgdOptions& sgd) = 0;

  // The optimizer's state: SGD's momentum buffers v, shaped like the model (zero until a step with
  // momentum). Checkpoints save it and resume restores it after set_model(), so that a resumed run
  // continues bitwise as if never stopped. The defaults throw Error: a backend that cannot hand out its
  // state cannot checkpoint.
  virtual Mlp optimizer_state() const;
  virtual void set_optimizer_state(const Mlp& velocity);

  // Data parallelism, between backward and update: scales the last backward's gradients by `scale`
  // (this rank's share of the global batch) and sums them over the communicator's ranks, so that every
  // rank holds the global batch's mean gradient. scale 0: this rank contributes zeros (an empty shard,
  // no backward ran). The default throws Error: a backend must implement it to train distributed.
  virtual void sum_gradients(float scale);

  // forward, loss, backward, update. A backend may override it with something faster that does the same.
  virtual BatchStats train_step(std::span<const int64_t> indices, const SgdOptions& sgd);

  // --- whole epochs: what the trainer uses ---
  // Starts an epoch over the training set's samples in plan's order (shuffled_indices(), or file order).
  // The default keeps that order on the host; a GPU backend computes the same order on its device.
  virtual void begin_epoch(const EpochPlan& plan);
  // One training step on the samples order[first, first + count) of the current epoch. With a
  // communicator of N ranks, count is the global batch: rank r trains its shard_of(count, r, N) of it,
  // and the gradients are summed over the ranks (sum_gradients) before the update, so that every rank
  // takes the step one process would take on the whole batch.
  virtual void train_batch(int64_t first, int64_t count, const SgdOptions& sgd);
  // Metrics of the epoch so far, as trained: loss = mean over its samples, correct, count. Separate from
  // train_batch so that a GPU backend copies metrics to the host only when they are reported. With a
  // communicator, this rank's samples only (the trainer sums them over the ranks where it needs to).
  virtual BatchStats epoch_stats();
  // Whether epoch_stats() has to wait for the device (a GPU: it copies the metrics to the host once the
  // queued steps are done). The trainer then reads them less often, so that steps stay queued.
  virtual bool epoch_stats_waits_for_device() const { return false; }

  // Inference: x is [n, D] (already scaled), probs is [n, C] softmax probabilities.
  virtual void predict(const float* x, int64_t n, float* probs) = 0;

 private:
  Communicator* communicator_;
  std::vector<int64_t> epoch_order_;  // the default begin_epoch's order
  double epoch_loss_sum_ = 0.0;       // sum of per-sample losses since begin_epoch
  int64_t epoch_correct_ = 0;
  int64_t epoch_count_ = 0;
};

// The order of an epoch as every backend must visit it.
std::vector<int64_t> epoch_order(const EpochPlan& plan);

// How a backend should run, beyond its name. Backends ignore what does not apply to them.
struct BackendOptions {
  int threads = 0;  // CPU threads (--threads); 0: the OpenMP default (OMP_NUM_THREADS, else all cores)
  std::string gemm = "auto";  // gpu matrix products (--gemm): custom, cublas, or auto (by layer size)
  bool tf32 = false;          // cuBLAS with TF32 tensor cores (--tf32); FP32 otherwise
  bool cuda_graphs = true;    // replay the training step as a CUDA graph (--no-cuda-graph turns it off)
  // Train data-parallel with these ranks (--distributed; not owned, must outlive the backend). A gpu
  // backend takes the GPU of its local rank and sums gradients with NCCL.
  Communicator* communicator = nullptr;
};

// Device names accepted by --device, and what each means in this build.
//   reference: the oracle (always built).  cpu: BLAS + OpenMP (host/backends/cpu; UsageError when not built).
//   gpu: CUDA on the first GPU (Error when there is none).  gpu-emulated: the same GPU backend on the
//   SIMT emulator (slow; checks the GPU code path on any machine).
//   auto: gpu when a GPU is usable, else cpu when built, else reference.
std::unique_ptr<Backend> make_backend(const std::string& device, const BackendOptions& options = {});

// The cpu backend of this build, as benchmarks and reports describe it.
struct CpuBackendInfo {
  bool built = false;       // false: configured with CUDAMLP_CPU=OFF
  int default_threads = 0;  // what --threads 0 means: OMP_NUM_THREADS when set, else every core
  std::string blas;         // e.g. "OpenBLAS 0.3.21 (OpenMP, Haswell kernels)"
};
CpuBackendInfo cpu_backend_info();

}  // namespace cudamlp
