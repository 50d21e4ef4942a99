// The reference backend: composes the ops of reference_ops.h into a training step, layer by layer as the
// network lists them. See reference_backend.h.
#include "reference_backend.h"

#include "cudamlp/dropout_mask.h"
#include "cudamlp/errors.h"
#include "reference_ops.h"

namespace cudamlp {

namespace {

// Where a training step's dropout masks come from (nullptr: inference, no dropout).
struct DropoutAt {
  const Regularization& regularization;
  const StepValues& step;
  int64_t first;  // position of the batch's first sample in the epoch's order
};

// Runs every layer of model on activations[0] = x [B, D], filling activations[1..L], with dropout after
// each hidden layer's ReLU when dropout is given and its P is not 0.
void run_layers(const Model& model, int64_t B, std::vector<std::vector<float>>& activations,
                const DropoutAt* dropout = nullptr) {
  const Network& network = model.network;
  activations.resize(network.layers.size() + 1);
  for (size_t l = 0; l < network.layers.size(); ++l) {
    const LayerSpec& layer = network.layers[l];
    const bool relu = layer.activation == Activation::kRelu;
    activations[l + 1].resize(static_cast<size_t>(B * layer.out));
    reference::dense_forward(activations[l].data(), model.weight(l).data(), model.bias(l).data(),
                             activations[l + 1].data(), B, layer.in, layer.out, relu);
    const bool hidden = l + 1 < network.layers.size();
    if (dropout != nullptr && dropout->regularization.dropout != 0.0f && hidden && relu)
      reference::dropout_forward(activations[l + 1].data(), B, layer.out, dropout->regularization.dropout,
                                 dropout->regularization.seed, dropout->step.step, dropout->first, int(l));
  }
}

}  // namespace

void ReferenceBackend::forward(std::span<const int64_t> indices, const StepValues& step, int64_t first) {
  check_batch(indices);
  batch_ = static_cast<int64_t>(indices.size());
  activations_.resize(model_.network.layers.size() + 1);
  activations_[0].resize(static_cast<size_t>(batch_ * data_.dim()));
  labels_.resize(indices.size());
  reference::gather_batch(data_, indices, activations_[0].data(), labels_.data());
  const DropoutAt dropout{regularization_, step, first};
  run_layers(model_, batch_, activations_, &dropout);
}

BatchStats ReferenceBackend::loss() {
  const int C = model_.output_size();
  probs_.resize(static_cast<size_t>(batch_ * C));
  dlogits_.resize(probs_.size());
  return reference::softmax_xent(activations_.back().data(), labels_.data(), probs_.data(), dlogits_.data(), batch_, C);
}

void ReferenceBackend::backward() {
  const Network& network = model_.network;
  // delta is dLoss/d(output of layer l); it starts as dLoss/dlogits.
  std::vector<float> delta = dlogits_;
  std::vector<float> delta_in;
  for (size_t l = network.layers.size(); l-- > 0;) {
    const LayerSpec& layer = network.layers[l];
    reference::dense_backward_weights(delta.data(), activations_[l].data(), gradients_.data() + network.weight_offset(l),
                                      gradients_.data() + network.bias_offset(l), batch_, layer.in, layer.out);
    if (l == 0) break;  // the input needs no gradient
    // activations_[l] is layer l - 1's output: the gradient passes back through its activation.
    delta_in.resize(static_cast<size_t>(batch_ * layer.in));
    reference::dense_backward_input(delta.data(), model_.weight(l).data(), activations_[l].data(), delta_in.data(),
                                    batch_, layer.in, layer.out, network.layers[l - 1].activation == Activation::kRelu,
                                    dropout_scale(regularization_.dropout));
    delta.swap(delta_in);
  }
}

void ReferenceBackend::update(const StepValues& step) {
  // Tensor by tensor: weights take the weight decay, biases do not.
  const OptimizerSlots all = slots();
  for (const ParameterTensor& tensor : model_.network.tensors())
    reference::optimizer_update(optimizer_, model_.parameters.data() + tensor.offset, gradients_.data() + tensor.offset,
                                offset_slots(all, tensor.offset), tensor.size, step, tensor.is_weight());
}

void ReferenceBackend::predict(const float* x, int64_t n, float* probs) {
  if (model_.network.layers.empty()) throw Error("reference backend: predict before set_model");
  std::vector<std::vector<float>> activations(1);
  activations[0].assign(x, x + n * model_.input_size());
  run_layers(model_, n, activations);
  reference::softmax(activations.back().data(), probs, n, model_.output_size());
}

}  // namespace cudamlp
