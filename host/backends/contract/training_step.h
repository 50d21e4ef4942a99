// The training step, written once for every backend: one process trains the whole batch; in a
// data-parallel run each rank trains its shard, its mean gradient is weighted by the shard's share of
// the batch and summed over the ranks (so every rank holds the batch's mean gradient), and every rank
// applies the same update. Backends supply the parts; train_batch calls run_training_step.
#pragma once

#include <cstdint>

#include "cudamlp/communicator.h"
#include "cudamlp/optimizer.h"

namespace cudamlp {

class TrainingStepParts {
 public:
  // Forward, loss, the epoch's metrics and backward on the samples of the batch order[first, first +
  // count) that `shard` names (offsets into the batch), with this step's values (dropout's masks are
  // drawn from its step number). An empty shard trains nothing, but the epoch still moves on by `count`
  // samples.
  virtual void train_shard(int64_t first, const Shard& shard, int64_t count, const StepValues& step) = 0;
  // values = the sum over the ranks of scale * gradients (scale 0: this rank adds zeros).
  virtual void sum_gradients(float scale) = 0;
  // The optimizer's update from the gradients, with this step's values. A GPU takes them from device
  // memory, where train_batch wrote them before the step: a captured graph replays every later step, so
  // a host value read here would stay the captured step's for good.
  virtual void apply_update(const StepValues& step) = 0;

 protected:
  ~TrainingStepParts() = default;
};

// One optimizer step on the batch order[first, first + count), alone (comm null or of one rank) or as
// one rank of comm.
void run_training_step(TrainingStepParts& parts, Communicator* comm, int64_t first, int64_t count,
                       const StepValues& step);

}  // namespace cudamlp
