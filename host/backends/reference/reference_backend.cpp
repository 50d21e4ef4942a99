// The reference backend: composes the ops of ops.h into a training step. See reference_backend.h.
#include "reference_backend.h"

#include "cudamlp/errors.h"
#include "sum_over_ranks.h"
#include "reference_ops.h"

namespace cudamlp {

namespace {

// Runs every layer on activations[0] = x [B, D], filling activations[1..L].
void run_layers(const Mlp& model, int64_t B, std::vector<std::vector<float>>& activations) {
  activations.resize(model.layers.size() + 1);
  for (size_t l = 0; l < model.layers.size(); ++l) {
    const DenseLayer& layer = model.layers[l];
    const bool hidden = l + 1 < model.layers.size();
    activations[l + 1].resize(static_cast<size_t>(B * layer.out));
    reference::dense_forward(activations[l].data(), layer.weight.data(), layer.bias.data(),
                             activations[l + 1].data(), B, layer.in, layer.out, hidden);
  }
}

}  // namespace

void ReferenceBackend::set_model(const Mlp& model) {
  model_ = model;
  gradients_ = zeros_like(model);
  velocity_ = zeros_like(model);
  batch_ = 0;
}

void ReferenceBackend::set_optimizer_state(const Mlp& velocity) {
  if (!same_shape(velocity, model_))
    throw Error("reference backend: set_optimizer_state with momentum buffers not shaped like the model");
  velocity_ = velocity;
}

void ReferenceBackend::forward(std::span<const int64_t> indices) {
  if (model_.layers.empty()) throw Error("reference backend: forward before set_model");
  if (data_.dim() != model_.input_size())
    throw Error("reference backend: training data has " + std::to_string(data_.dim()) +
                " values per sample, the model expects " + std::to_string(model_.input_size()));
  batch_ = static_cast<int64_t>(indices.size());
  activations_.resize(model_.layers.size() + 1);
  activations_[0].resize(static_cast<size_t>(batch_ * data_.dim()));
  labels_.resize(indices.size());
  reference::gather_batch(data_, indices, activations_[0].data(), labels_.data());
  run_layers(model_, batch_, activations_);
}

BatchStats ReferenceBackend::loss() {
  const int C = model_.output_size();
  probs_.resize(static_cast<size_t>(batch_ * C));
  dlogits_.resize(probs_.size());
  return reference::softmax_xent(activations_.back().data(), labels_.data(), probs_.data(),
                                 dlogits_.data(), batch_, C);
}

void ReferenceBackend::backward() {
  // delta is dLoss/d(output of layer l); it starts as dLoss/dlogits.
  std::vector<float> delta = dlogits_;
  std::vector<float> delta_in;
  for (size_t l = model_.layers.size(); l-- > 0;) {
    const DenseLayer& layer = model_.layers[l];
    DenseLayer& grad = gradients_.layers[l];
    float* dx = nullptr;
    if (l > 0) {
      delta_in.resize(static_cast<size_t>(batch_ * layer.in));
      dx = delta_in.data();
    }
    reference::dense_backward(delta.data(), activations_[l].data(), layer.weight.data(),
                              grad.weight.data(), grad.bias.data(), dx, batch_, layer.in, layer.out);
    if (l > 0) {
      // activations_[l] is the previous hidden layer's ReLU output.
      reference::relu_backward(activations_[l].data(), delta_in.data(), batch_ * layer.in);
      delta.swap(delta_in);
    }
  }
}

void ReferenceBackend::sum_gradients(float scale) {
  if (communicator() == nullptr) throw Error("reference backend: sum_gradients without a communicator");
  sum_over_ranks(*communicator(), gradients_, scale, packed_gradients_);
}

void ReferenceBackend::update(const SgdOptions& sgd) {
  for (size_t l = 0; l < model_.layers.size(); ++l) {
    DenseLayer& layer = model_.layers[l];
    const DenseLayer& grad = gradients_.layers[l];
    DenseLayer& velocity = velocity_.layers[l];
    reference::sgd_update(layer.weight.data(), grad.weight.data(), velocity.weight.data(),
                          static_cast<int64_t>(layer.weight.size()), sgd.lr, sgd.momentum);
    reference::sgd_update(layer.bias.data(), grad.bias.data(), velocity.bias.data(),
                          static_cast<int64_t>(layer.bias.size()), sgd.lr, sgd.momentum);
  }
}

void ReferenceBackend::predict(const float* x, int64_t n, float* probs) {
  if (model_.layers.empty()) throw Error("reference backend: predict before set_model");
  std::vector<std::vector<float>> activations(1);
  activations[0].assign(x, x + n * model_.input_size());
  run_layers(model_, n, activations);
  reference::softmax(activations.back().data(), probs, n, model_.output_size());
}

}  // namespace cudamlp
