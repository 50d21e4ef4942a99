// Backend selection by --device name, and the default training step.
#include <memory>
#include <numeric>

#include "cudamlp/backend.h"
#include "cudamlp/errors.h"
#include "cudamlp/gpu_info.h"
#include "cudamlp/rng.h"
#include "gpu_backend.h"
#include "reference/reference_backend.h"
#if CUDAMLP_HAVE_CPU_BACKEND
#include "cpu/cpu_backend.h"
#endif

namespace cudamlp {

BatchStats Backend::train_step(std::span<const int64_t> indices, const SgdOptions& sgd) {
  forward(indices);
  const BatchStats stats = loss();
  backward();
  update(sgd);
  return stats;
}

std::vector<int64_t> epoch_order(const EpochPlan& plan) {
  if (plan.shuffle) return shuffled_indices(plan.samples, plan.seed, plan.epoch);
  std::vector<int64_t> order(static_cast<size_t>(plan.samples));
  std::iota(order.begin(), order.end(), int64_t{0});
  return order;
}

void Backend::begin_epoch(const EpochPlan& plan) {
  epoch_order_ = epoch_order(plan);
  epoch_loss_sum_ = 0.0;
  epoch_correct_ = 0;
  epoch_count_ = 0;
}

void Backend::sum_gradients(float /*scale*/) {
  throw Error("the " + name() + " backend cannot train distributed (it has no gradient all-reduce)");
}

void Backend::train_batch(int64_t first, int64_t count, const SgdOptions& sgd) {
  if (first < 0 || count < 1 || first + count > int64_t(epoch_order_.size()))
    throw Error("train_batch: samples [" + std::to_string(first) + ", " + std::to_string(first + count) +
                ") outside the epoch of " + std::to_string(epoch_order_.size()));
  BatchStats stats;
  if (communicator_ == nullptr || communicator_->size() == 1) {
    stats = train_step(std::span<const int64_t>(epoch_order_.data() + first, size_t(count)), sgd);
  } else {
    const Shard shard = shard_of(count, communicator_->rank(), communicator_->size());
    if (shard.size() > 0) {
      forward(std::span<const int64_t>(epoch_order_.data() + first + shard.begin, size_t(shard.size())));
      stats = loss();
      backward();
    }
    // The shard's gradients are its mean; weighted by its share they sum to the whole batch's mean.
    sum_gradients(float(double(shard.size()) / double(count)));
    update(sgd);
  }
  epoch_loss_sum_ += stats.loss * double(stats.count);
  epoch_correct_ += stats.correct;
  epoch_count_ += stats.count;
}

BatchStats Backend::epoch_stats() {
  return {epoch_count_ ? epoch_loss_sum_ / double(epoch_count_) : 0.0, epoch_correct_, epoch_count_};
}

Mlp Backend::optimizer_state() const {
  throw Error("the " + name() + " backend cannot save its optimizer state, so it cannot write checkpoints");
}

void Backend::set_optimizer_state(const Mlp& /*velocity*/) {
  throw Error("the " + name() + " backend cannot restore an optimizer state, so it cannot resume a checkpoint");
}

namespace {

GemmEngine choose_engine(const BackendOptions& options) {
  if (options.gemm == "custom") {
    if (options.tf32) throw UsageError("--tf32 applies to --gemm cublas only");
    return GemmEngine::kCustom;
  }
  if (options.gemm == "cublas" || options.gemm == "auto")
    return options.tf32 ? GemmEngine::kCublasTf32 : GemmEngine::kCublas;
  throw UsageError("--gemm " + options.gemm + ": expected custom, cublas or auto");
}

}  // namespace

std::unique_ptr<Backend> make_backend(const std::string& device, const BackendOptions& options) {
  if (options.threads < 0)
    throw UsageError("--threads " + std::to_string(options.threads) + ": expected a positive thread count");
  const GemmEngine engine = choose_engine(options);
  const bool per_layer = options.gemm == "auto";
  Communicator* comm = options.communicator;
  if (device == "gpu-emulated")
    return std::make_unique<GpuBackend>(emulated_ops(), engine, per_layer, options.cuda_graphs, comm);
  if (device == "gpu" || device == "auto") {
    const GpuInfo gpu = query_gpu();
    if (gpu.usable) return std::make_unique<GpuBackend>(*cuda_ops(), engine, per_layer, options.cuda_graphs, comm);
    if (device == "gpu") throw Error("--device gpu: " + gpu.description);
  }
#if CUDAMLP_HAVE_CPU_BACKEND
  if (device == "cpu" || device == "auto") return std::make_unique<CpuBackend>(options.threads, comm);
#else
  if (device == "cpu")
    throw UsageError("--device cpu: this build has no CPU backend (configured with CUDAMLP_CPU=OFF); "
                     "use --device reference");
#endif
  if (device == "reference" || device == "auto") return std::make_unique<ReferenceBackend>(comm);
  throw UsageError("--device " + device + ": unknown device (expected reference, cpu, gpu, gpu-emulated or auto)");
}

}  // namespace cudamlp
