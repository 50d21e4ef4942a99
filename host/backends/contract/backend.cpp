// The parts of the backend contract (cudamlp/backend.h) that every backend shares: the epoch order and
// the training step (training_step.h).
#include <numeric>

#include "cudamlp/backend.h"
#include "cudamlp/rng.h"
#include "training_step.h"

namespace cudamlp {

std::vector<int64_t> epoch_order(const EpochPlan& plan) {
  if (plan.shuffle) return shuffled_indices(plan.samples, plan.seed, plan.epoch);
  std::vector<int64_t> order(static_cast<size_t>(plan.samples));
  std::iota(order.begin(), order.end(), int64_t{0});
  return order;
}

void run_training_step(TrainingStepParts& parts, Communicator* comm, int64_t first, int64_t count,
                       const StepValues& step) {
  if (comm == nullptr || comm->size() == 1) {
    parts.train_shard(first, {0, count}, count, step);
  } else {
    const Shard shard = shard_of(count, comm->rank(), comm->size());
    parts.train_shard(first, shard, count, step);
    // The shard's gradients are its mean; weighted by its share they sum to the whole batch's mean.
    parts.sum_gradients(float(double(shard.size()) / double(count)));
  }
  parts.apply_update(step);
}

}  // namespace cudamlp
