// The parts of the backend contract (cudamlp/backend.h) that every backend shares: the default
// training step and epoch bookkeeping, the epoch order, and the data-parallel gradient sum of the host
// backends.
#include <numeric>

#include "cudamlp/backend.h"
#include "cudamlp/errors.h"
#include "cudamlp/rng.h"
#include "sum_over_ranks.h"

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

void sum_over_ranks(Communicator& comm, Mlp& values, float scale, std::vector<float>& packed) {
  // Packed into one buffer: one collective per step instead of two per layer.
  packed.clear();
  for (const DenseLayer& layer : values.layers)
    for (const std::vector<float>* tensor : {&layer.weight, &layer.bias})
      for (const float value : *tensor) packed.push_back(scale == 0.0f ? 0.0f : scale * value);
  comm.sum(packed);
  size_t next = 0;
  for (DenseLayer& layer : values.layers)
    for (std::vector<float>* tensor : {&layer.weight, &layer.bias})
      for (float& value : *tensor) value = packed[next++];
}

}  // namespace cudamlp
