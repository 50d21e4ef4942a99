// The cpu backend: composes cpu_ops.h into a training step, layer by layer as the network lists them.
// See cpu_backend.h.
#include "cpu_backend.h"

#include <algorithm>

#include "blas.h"
#include "cpu_ops.h"
#include "cudamlp/dropout_mask.h"
#include "cudamlp/errors.h"

namespace cudamlp {

namespace {

// The widest hidden layer of network (0 without hidden layers): the size of a row of delta_.
int widest_hidden(const Network& network) {
  int widest = 0;
  for (size_t l = 0; l + 1 < network.layers.size(); ++l) widest = std::max(widest, network.layers[l].out);
  return widest;
}

}  // namespace

CpuBackend::CpuBackend(int threads, Communicator* communicator)
    : HostBackend(communicator), threads_(threads > 0 ? threads : cpu::default_threads()) {}

void CpuBackend::model_changed() {
  batch_ = 0;
  capacity_ = 0;  // the layer sizes may have changed: buffers are re-sized on the next forward
}

void CpuBackend::reserve_batch(int64_t batch) {
  if (batch <= capacity_) return;
  const std::vector<int> sizes = model_.sizes();
  activations_.resize(sizes.size());
  for (size_t l = 0; l < sizes.size(); ++l) activations_[l].resize(size_t(batch * sizes[l]));
  labels_.resize(size_t(batch));
  probs_.resize(size_t(batch * sizes.back()));
  dlogits_.resize(probs_.size());
  for (std::vector<float>& delta : delta_) delta.resize(size_t(batch * widest_hidden(model_.network)));
  capacity_ = batch;
}

void CpuBackend::forward(std::span<const int64_t> indices, const StepValues& step, int64_t first) {
  check_batch(indices);
  cpu::set_threads(threads_);
  batch_ = static_cast<int64_t>(indices.size());
  reserve_batch(batch_);
  cpu::gather_batch(data_, indices, activations_[0].data(), labels_.data());
  const Network& network = model_.network;
  for (size_t l = 0; l < network.layers.size(); ++l) {
    const LayerSpec& layer = network.layers[l];
    const bool relu = layer.activation == Activation::kRelu;
    cpu::dense_forward(activations_[l].data(), model_.weight(l).data(), model_.bias(l).data(),
                       activations_[l + 1].data(), batch_, layer.in, layer.out, relu);
    const bool hidden = l + 1 < network.layers.size();
    if (regularization_.dropout != 0.0f && hidden && relu)
      cpu::dropout_forward(activations_[l + 1].data(), batch_, layer.out, regularization_.dropout,
                           regularization_.seed, step.step, first, int(l));
  }
}

BatchStats CpuBackend::loss() {
  cpu::set_threads(threads_);
  return cpu::softmax_xent(activations_.back().data(), labels_.data(), probs_.data(), dlogits_.data(), batch_,
                           model_.output_size());
}

void CpuBackend::backward() {
  cpu::set_threads(threads_);
  const Network& network = model_.network;
  // delta is dLoss/d(output of layer l); it starts as dLoss/dlogits and then alternates between the
  // two delta_ buffers, each layer's dx becoming the next (lower) layer's delta.
  const float* delta = dlogits_.data();
  for (size_t l = network.layers.size(); l-- > 0;) {
    const LayerSpec& layer = network.layers[l];
    cpu::dense_backward_weights(delta, activations_[l].data(), gradients_.data() + network.weight_offset(l),
                                gradients_.data() + network.bias_offset(l), batch_, layer.in, layer.out);
    if (l == 0) break;  // the input needs no gradient
    float* dx = delta == delta_[0].data() ? delta_[1].data() : delta_[0].data();
    // activations_[l] is layer l - 1's output: the gradient passes back through its activation.
    cpu::dense_backward_input(delta, model_.weight(l).data(), activations_[l].data(), dx, batch_, layer.in, layer.out,
                              network.layers[l - 1].activation == Activation::kRelu,
                              dropout_scale(regularization_.dropout));
    delta = dx;
  }
}

void CpuBackend::update(const StepValues& step) {
  cpu::set_threads(threads_);
  // Tensor by tensor: where a vectorised loop's body ends and its shorter epilogue begins changes the
  // rounding of an update (GCC contracts the body's multiply-adds but not the epilogue's), so the
  // ranges stay those the bitwise guard recorded.
  // Weights take the weight decay, biases do not.
  const OptimizerSlots all = slots();
  for (const ParameterTensor& tensor : model_.network.tensors())
    cpu::optimizer_update(optimizer_, model_.parameters.data() + tensor.offset, gradients_.data() + tensor.offset,
                          offset_slots(all, tensor.offset), tensor.size, step, tensor.is_weight());
}

void CpuBackend::predict(const float* x, int64_t n, float* probs) {
  if (model_.network.layers.empty()) throw Error("cpu backend: predict before set_model");
  cpu::set_threads(threads_);
  const Network& network = model_.network;
  int widest = 0;
  for (const LayerSpec& layer : network.layers) widest = std::max(widest, layer.out);
  for (std::vector<float>& buffer : predict_buffer_)
    if (buffer.size() < size_t(n * widest)) buffer.resize(size_t(n * widest));
  // Layer l reads the previous buffer (x for l = 0) and writes predict_buffer_[l % 2].
  const float* input = x;
  for (size_t l = 0; l < network.layers.size(); ++l) {
    const LayerSpec& layer = network.layers[l];
    float* output = predict_buffer_[l % 2].data();
    cpu::dense_forward(input, model_.weight(l).data(), model_.bias(l).data(), output, n, layer.in, layer.out,
                       layer.activation == Activation::kRelu);
    input = output;
  }
  cpu::softmax(input, probs, n, model_.output_size());
}

}  // namespace cudamlp
