// What the two backends that compute on the host (reference, cpu) share around their ops: the flat
// parameter, gradient and optimizer-slot buffers, the training set, the epoch's order and metrics, and
// the training step (run_training_step). They differ only in the ops they compute with: each implements
// forward, loss, backward, update and predict (StepPhases, Backend::predict) from its own ops file.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cudamlp/backend.h"
#include "optimizer_slots.h"
#include "step_phases.h"
#include "training_step.h"

namespace cudamlp {

class HostBackend : public Backend, public StepPhases, private TrainingStepParts {
 public:
  BackendTraits traits() const override { return {}; }  // metrics on the host; checkpoints; distributed

  void set_model(const Model& model, const OptimizerConfig& optimizer) override;
  Model model() const override { return model_; }
  const Network& network() const override { return model_.network; }
  OptimizerConfig optimizer() const override { return optimizer_; }
  OptimizerState optimizer_state() const override { return state_; }
  void set_optimizer_state(const OptimizerState& state) override;
  void set_regularization(const Regularization& regularization) override;
  Regularization regularization() const override { return regularization_; }

  void set_training_data(const Dataset& data) override;
  void begin_epoch(const EpochPlan& plan) override;
  void train_batch(int64_t first, int64_t count, const StepValues& step) override;
  BatchStats epoch_stats() override;

  std::vector<float> gradients() const override { return gradients_; }

 protected:
  explicit HostBackend(Communicator* communicator) : Backend(communicator) {}
  // After set_model: a backend's step buffers, sized for the old network, must be sized anew.
  virtual void model_changed() = 0;
  // Throws Error unless a model is set and every index names a labelled sample of the training set.
  void check_batch(std::span<const int64_t> indices) const;
  // The slot buffers, for the optimizer's update.
  OptimizerSlots slots();

  Model model_;                  // the parameters, flat in model_.network's layout
  std::vector<float> gradients_; // the same layout
  OptimizerConfig optimizer_;
  OptimizerState state_;         // every slot of optimizer_, the same layout
  Dataset data_;                 // the training set, pixels still uint8
  Regularization regularization_;

 private:
  void train_shard(int64_t first, const Shard& shard, int64_t count, const StepValues& step) override;
  void sum_gradients(float scale) override;
  void apply_update(const StepValues& step) override { update(step); }

  std::vector<int64_t> order_;  // the epoch's sample order
  double epoch_loss_sum_ = 0.0; // sum of per-sample losses since begin_epoch
  int64_t epoch_correct_ = 0;
  int64_t epoch_count_ = 0;
};

}  // namespace cudamlp
