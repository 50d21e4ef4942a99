// See host_backend.h.
#include "host_backend.h"

#include <string>

#include "cudamlp/errors.h"

namespace cudamlp {

void HostBackend::set_model(const Model& model, const OptimizerConfig& optimizer) {
  if (model.network.layers.empty()) throw Error(name() + " backend: the model has no layers");
  if (int64_t(model.parameters.size()) != model.parameter_count())
    throw Error(name() + " backend: the model has " + std::to_string(model.parameters.size()) +
                " parameter values, its network " + std::to_string(model.parameter_count()));
  // Everything allocated first, then committed without a throw: a failed set_model leaves the old state.
  Model copy = model;
  std::vector<float> gradients(model.parameters.size(), 0.0f);
  OptimizerState state = zero_state(optimizer, model.parameter_count());
  model_ = std::move(copy);
  optimizer_ = optimizer;
  gradients_ = std::move(gradients);
  state_ = std::move(state);
  regularization_ = {};  // checked against the old network's inputs: a new model starts without one
  model_changed();
}

void HostBackend::set_optimizer_state(const OptimizerState& state) {
  check_state(state, optimizer_, model_.parameter_count(), name() + " backend");
  state_ = state;
}

void HostBackend::set_regularization(const Regularization& regularization) {
  if (model_.network.layers.empty()) throw Error(name() + " backend: set_regularization before set_model");
  check_regularization(regularization, model_.input_size(), name() + " backend");
  regularization_ = regularization;
}

OptimizerSlots HostBackend::slots() {
  OptimizerSlots slots;
  const std::vector<std::string> names = optimizer_slots(optimizer_);
  for (size_t s = 0; s < names.size(); ++s) slots.slot[s] = state_.slots.at(names[s]).data();
  return slots;
}

void HostBackend::set_training_data(const Dataset& data) { data_ = data; }

void HostBackend::check_batch(std::span<const int64_t> indices) const {
  if (model_.network.layers.empty()) throw Error(name() + " backend: forward before set_model");
  if (data_.dim() != model_.input_size())
    throw Error(name() + " backend: training data has " + std::to_string(data_.dim()) +
                " values per sample, the model expects " + std::to_string(model_.input_size()));
  for (const int64_t index : indices)
    if (index < 0 || index >= data_.count || size_t(index) >= data_.labels.size())
      throw Error(name() + " backend: sample index " + std::to_string(index) + " is outside the training set of " +
                  std::to_string(data_.labels.size()) + " labelled samples");
}

void HostBackend::begin_epoch(const EpochPlan& plan) {
  order_ = epoch_order(plan);
  epoch_loss_sum_ = 0.0;
  epoch_correct_ = 0;
  epoch_count_ = 0;
}

void HostBackend::train_batch(int64_t first, int64_t count, const StepValues& step) {
  if (first < 0 || count < 1 || first + count > int64_t(order_.size()))
    throw Error(name() + " backend: train_batch of samples [" + std::to_string(first) + ", " +
                std::to_string(first + count) + ") outside the epoch of " + std::to_string(order_.size()));
  run_training_step(*this, communicator(), first, count, step);
}

void HostBackend::train_shard(int64_t first, const Shard& shard, int64_t /*count*/, const StepValues& step) {
  if (shard.size() == 0) return;
  // The shard's samples sit at positions first + shard.begin, ... of the epoch's order: dropout's masks
  // are drawn from those positions, so every rank count draws what one process draws.
  forward(std::span<const int64_t>(order_.data() + first + shard.begin, size_t(shard.size())), step,
          first + shard.begin);
  const BatchStats stats = loss();
  epoch_loss_sum_ += stats.loss * double(stats.count);
  epoch_correct_ += stats.correct;
  epoch_count_ += stats.count;
  backward();
}

void HostBackend::sum_gradients(float scale) {
  // One collective over all gradients. A rank with scale 0 (an empty shard, no backward) adds zeros
  // whatever the buffer holds.
  for (float& gradient : gradients_) gradient = scale == 0.0f ? 0.0f : scale * gradient;
  communicator()->sum(gradients_);
}

BatchStats HostBackend::epoch_stats() {
  return {epoch_count_ ? epoch_loss_sum_ / double(epoch_count_) : 0.0, epoch_correct_, epoch_count_};
}

}  // namespace cudamlp
