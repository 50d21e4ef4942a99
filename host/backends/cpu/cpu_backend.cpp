// The cpu backend: composes cpu_ops.h into a training step. See cpu_backend.h.
#include "cpu_backend.h"

#include <algorithm>

#include "blas.h"
#include "cpu_ops.h"
#include "cudamlp/errors.h"
#include "sum_over_ranks.h"

namespace cudamlp {

namespace {

// The widest hidden layer of model (0 without hidden layers): the size of a row of delta_.
int widest_hidden(const Mlp& model) {
  int widest = 0;
  for (size_t l = 0; l + 1 < model.layers.size(); ++l) widest = std::max(widest, model.layers[l].out);
  return widest;
}

}  // namespace

CpuBackend::CpuBackend(int threads, Communicator* communicator)
    : Backend(communicator), threads_(threads > 0 ? threads : cpu::default_threads()) {}

void CpuBackend::set_model(const Mlp& model) {
  if (model.layers.empty()) throw Error("cpu backend: the model has no layers");
  model_ = model;
  gradients_ = zeros_like(model);
  velocity_ = zeros_like(model);
  batch_ = 0;
  capacity_ = 0;  // the layer sizes may have changed: buffers are re-sized on the next forward
}

void CpuBackend::set_optimizer_state(const Mlp& velocity) {
  if (!same_shape(velocity, model_))
    throw Error("cpu backend: set_optimizer_state with momentum buffers not shaped like the model");
  velocity_ = velocity;
}

void CpuBackend::set_training_data(const Dataset& data) { data_ = data; }

void CpuBackend::reserve_batch(int64_t batch) {
  if (batch <= capacity_) return;
  const std::vector<int> sizes = model_.sizes();
  activations_.resize(sizes.size());
  for (size_t l = 0; l < sizes.size(); ++l) activations_[l].resize(size_t(batch * sizes[l]));
  labels_.resize(size_t(batch));
  probs_.resize(size_t(batch * sizes.back()));
  dlogits_.resize(probs_.size());
  for (std::vector<float>& delta : delta_) delta.resize(size_t(batch * widest_hidden(model_)));
  capacity_ = batch;
}

void CpuBackend::forward(std::span<const int64_t> indices) {
  if (model_.layers.empty()) throw Error("cpu backend: forward before set_model");
  if (data_.dim() != model_.input_size())
    throw Error("cpu backend: training data has " + std::to_string(data_.dim()) +
                " values per sample, the model expects " + std::to_string(model_.input_size()));
  for (const int64_t index : indices)
    if (index < 0 || index >= data_.count || size_t(index) >= data_.labels.size())
      throw Error("cpu backend: sample index " + std::to_string(index) + " is outside the training set of " +
                  std::to_string(data_.labels.size()) + " labelled samples");
  cpu::set_threads(threads_);
  batch_ = static_cast<int64_t>(indices.size());
  reserve_batch(batch_);
  cpu::gather_batch(data_, indices, activations_[0].data(), labels_.data());
  for (size_t l = 0; l < model_.layers.size(); ++l) {
    const DenseLayer& layer = model_.layers[l];
    const bool hidden = l + 1 < model_.layers.size();
    cpu::dense_forward(activations_[l].data(), layer.weight.data(), layer.bias.data(),
                       activations_[l + 1].data(), batch_, layer.in, layer.out, hidden);
  }
}

BatchStats CpuBackend::loss() {
  cpu::set_threads(threads_);
  return cpu::softmax_xent(activations_.back().data(), labels_.data(), probs_.data(), dlogits_.data(), batch_,
                           model_.output_size());
}

void CpuBackend::backward() {
  cpu::set_threads(threads_);
  // delta is dLoss/d(output of layer l); it starts as dLoss/dlogits and then alternates between the
  // two delta_ buffers, each layer's dx becoming the next (lower) layer's delta.
  const float* delta = dlogits_.data();
  for (size_t l = model_.layers.size(); l-- > 0;) {
    const DenseLayer& layer = model_.layers[l];
    DenseLayer& grad = gradients_.layers[l];
    float* dx = nullptr;
    if (l > 0) dx = delta == delta_[0].data() ? delta_[1].data() : delta_[0].data();
    cpu::dense_backward(delta, activations_[l].data(), layer.weight.data(), grad.weight.data(),
                        grad.bias.data(), dx, batch_, layer.in, layer.out);
    if (l > 0) {
      // activations_[l] is the previous hidden layer's ReLU output.
      cpu::relu_backward(activations_[l].data(), dx, batch_ * layer.in);
      delta = dx;
    }
  }
}

void CpuBackend::sum_gradients(float scale) {
  if (communicator() == nullptr) throw Error("cpu backend: sum_gradients without a communicator");
  sum_over_ranks(*communicator(), gradients_, scale, packed_gradients_);
}

void CpuBackend::update(const SgdOptions& sgd) {
  cpu::set_threads(threads_);
  for (size_t l = 0; l < model_.layers.size(); ++l) {
    DenseLayer& layer = model_.layers[l];
    const DenseLayer& grad = gradients_.layers[l];
    DenseLayer& velocity = velocity_.layers[l];
    cpu::sgd_update(layer.weight.data(), grad.weight.data(), velocity.weight.data(),
                    static_cast<int64_t>(layer.weight.size()), sgd.lr, sgd.momentum);
    cpu::sgd_update(layer.bias.data(), grad.bias.data(), velocity.bias.data(),
                    static_cast<int64_t>(layer.bias.size()), sgd.lr, sgd.momentum);
  }
}

void CpuBackend::predict(const float* x, int64_t n, float* probs) {
  if (model_.layers.empty()) throw Error("cpu backend: predict before set_model");
  cpu::set_threads(threads_);
  int widest = 0;
  for (const DenseLayer& layer : model_.layers) widest = std::max(widest, layer.out);
  for (std::vector<float>& buffer : predict_buffer_)
    if (buffer.size() < size_t(n * widest)) buffer.resize(size_t(n * widest));
  // Layer l reads the previous buffer (x for l = 0) and writes predict_buffer_[l % 2].
  const float* input = x;
  for (size_t l = 0; l < model_.layers.size(); ++l) {
    const DenseLayer& layer = model_.layers[l];
    float* output = predict_buffer_[l % 2].data();
    cpu::dense_forward(input, layer.weight.data(), layer.bias.data(), output, n, layer.in, layer.out,
                       l + 1 < model_.layers.size());
    input = output;
  }
  cpu::softmax(input, probs, n, model_.output_size());
}

}  // namespace cudamlp
