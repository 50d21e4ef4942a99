// The backend contract: everything that computes, as the trainer sees it. Three backends implement it as
// peers: `reference` (host/backends/reference), the oracle, plain loops in double; `cpu`
// (host/backends/cpu), BLAS + OpenMP; `gpu` (host/backends/gpu), CUDA kernels and cuBLAS on a GPU or on
// the SIMT emulator. The trainer, the CLI and the tests never ask which one they hold: what differs
// between them that a caller must know is data (BackendTraits).
//
// A backend owns the whole training step (gather the batch, forward, softmax-xent, backward, the
// optimizer's update) so that a GPU keeps everything on the device. Each backend keeps its parameters,
// gradients and every optimizer slot as flat buffers in the network's layout (network.h). The phases of
// a step, one by one, are a separate, test-facing interface (host/backends/step_phases.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cudamlp/communicator.h"
#include "cudamlp/dataset.h"
#include "cudamlp/model.h"
#include "cudamlp/optimizer.h"
#include "cudamlp/regularization.h"

namespace cudamlp {

// Metrics of a batch or an epoch: mean cross-entropy over its samples and how many were classified right.
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

// The order of an epoch as every backend must visit it: shuffled_indices(), or file order.
std::vector<int64_t> epoch_order(const EpochPlan& plan);

// What a caller must know about a backend, as data.
struct BackendTraits {
  // epoch_stats() waits for a device (a GPU copies its metrics to the host once the queued steps are
  // done): the trainer reads them seldom, so that steps stay queued.
  bool metrics_on_device = false;
  // optimizer_state() and set_optimizer_state() work: the backend can write checkpoints and resume them.
  bool can_checkpoint = true;
  // It trains with a communicator of several ranks (data parallelism).
  bool can_train_distributed = true;
};

// How many samples evaluation hands predict() at a time, and the most a GPU computes at once: bounds the
// host's float copy of the input and a backend's buffers for it.
inline constexpr int64_t kPredictChunk = 1024;

class Backend {
 public:
  // communicator: the ranks this backend trains with (data parallelism; not owned); nullptr: alone.
  explicit Backend(Communicator* communicator = nullptr) : communicator_(communicator) {}
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  virtual std::string name() const = 0;
  virtual BackendTraits traits() const = 0;
  Communicator* communicator() const { return communicator_; }

  // The model and the optimizer of a run: copies the parameters in and zeroes every slot of optimizer.
  // On an error the backend keeps what it had.
  virtual void set_model(const Model& model, const OptimizerConfig& optimizer = {}) = 0;
  virtual Model model() const = 0;            // the parameters copied out (from a device: a wait and a copy)
  virtual const Network& network() const = 0; // the model's network, without its parameters: cheap
  virtual OptimizerConfig optimizer() const = 0;
  // The optimizer's state, every slot named (optimizer.h). Checkpoints save it and resume restores it
  // after set_model(), so that a resumed run continues bitwise as if never stopped.
  virtual OptimizerState optimizer_state() const = 0;
  virtual void set_optimizer_state(const OptimizerState& state) = 0;
  // Dropout and augmentation of the training steps from now on (regularization.h; none until called, and
  // none again after set_model, which may change the inputs: call it after set_model).
  // Evaluation and predict never apply them. UsageError when the model or data cannot take them (an
  // augmentation whose image shape is not the model's input).
  virtual void set_regularization(const Regularization& regularization) = 0;
  virtual Regularization regularization() const = 0;

  // The training set, kept where the backend computes (a GPU uploads it once). `data` need outlive
  // only this call.
  virtual void set_training_data(const Dataset& data) = 0;
  // Starts an epoch over the training set in plan's order (epoch_order(plan); a GPU computes the same
  // order on its device) and zeroes the epoch's metrics.
  virtual void begin_epoch(const EpochPlan& plan) = 0;
  // One training step on the samples order[first, first + count) of the current epoch, with this step's
  // values (learning rate, step number). With a communicator of N ranks, count is the global batch: rank
  // r trains its shard_of(count, r, N), and the gradients are summed over the ranks before the update, so
  // that every rank takes the step one process would take on the whole batch.
  virtual void train_batch(int64_t first, int64_t count, const StepValues& step) = 0;
  // Metrics of the epoch so far, as trained. Separate from train_batch so that a GPU copies metrics to
  // the host only when they are reported. With a communicator, this rank's samples only.
  virtual BatchStats epoch_stats() = 0;

  // Inference: x is [n, D] (already scaled), probs [n, C] softmax probabilities. Leaves a training run's
  // state (buffers, captured graphs, metrics) as it was.
  virtual void predict(const float* x, int64_t n, float* probs) = 0;

 private:
  Communicator* communicator_;
};

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
//   reference: the oracle (always built).  cpu: BLAS + OpenMP (host/backends/cpu; UsageError when not
//   built).  gpu: CUDA on the first GPU (Error when there is none).  gpu-emulated: the same GPU backend
//   on the SIMT emulator (slow; checks the GPU code path on any machine).
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
