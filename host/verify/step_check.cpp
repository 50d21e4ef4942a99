// See step_check.h.
#include "step_check.h"

#include <algorithm>

#include "cudamlp/rng.h"
#include "cudamlp/trainer.h"
#include "op_checks.h"
#include "reference_backend.h"

namespace cudamlp::verify {

namespace {

std::string network_text(const Network& network) {
  const std::vector<int> sizes = network.sizes();
  std::string text;
  for (size_t i = 0; i < sizes.size(); ++i) text += (i ? "-" : "") + std::to_string(sizes[i]);
  for (const LayerSpec& layer : network.layers) text += std::string(" ") + activation_name(layer.activation);
  return text;
}

}  // namespace

std::vector<std::vector<int>> network_grid() {
  return {{7, 1}, {33, 7}, {1, 1, 2}, {31, 1000, 7}, {127, 33, 129, 3}, {784, 129, 31, 10}};
}

Network network_with_a_linear_hidden_layer() {
  Network network = mlp_network(std::vector<int>{100, 37, 17, 5});
  network.layers[0].activation = Activation::kNone;
  return network;
}

std::vector<Comparison> compare_tensors(const Network& network, std::span<const float> actual,
                                        std::span<const float> expected, double tolerance, const std::string& prefix) {
  if (int64_t(actual.size()) != network.parameter_count() || int64_t(expected.size()) != network.parameter_count()) {
    return {failed_comparison(prefix, prefix + ": " + std::to_string(actual.size()) + " and " +
                                          std::to_string(expected.size()) + " values, the network has " +
                                          std::to_string(network.parameter_count()))};
  }
  std::vector<Comparison> rows;
  for (const ParameterTensor& tensor : network.tensors())
    rows.push_back(compare_relative_to_max(actual.subspan(size_t(tensor.offset), size_t(tensor.size)),
                                           expected.subspan(size_t(tensor.offset), size_t(tensor.size)), tolerance,
                                           prefix.empty() ? tensor.name : prefix + " " + tensor.name));
  return rows;
}

std::vector<Comparison> check_training_step(Backend& backend, StepPhases& phases, const Network& network,
                                            int64_t batch, float dropout, InputScale input_scale) {
  const std::vector<int> sizes = network.sizes();
  const int D = sizes.front(), C = sizes.back();
  const uint64_t data_seed = uint64_t(batch) * 31 + uint64_t(D);
  const Dataset data = input_scale == InputScale::kNone ? random_float_dataset(2 * batch + 5, D, C, data_seed)
                                                        : random_dataset(2 * batch + 5, D, C, data_seed);
  Model model = make_mlp(sizes, 7, input_scale);
  model.network = network;  // the same layout: only the activations may differ
  model.network.input_scale = input_scale;
  Rng rng(8);  // non-zero biases, so a wrong bias path shows
  for (size_t l = 0; l < model.network.layers.size(); ++l)
    for (float& b : model.bias(l)) b = float(0.2 * rng.uniform() - 0.1);
  // Both optimizer families with weight decay (weights only), taking turns by the batch's parity. Adam's
  // eps is large here: its step g / (|g| + eps) turns a gradient at float noise level (a sum that cancels)
  // into a full step of either sign, which would compare rounding noise, not the backends.
  const OptimizerConfig optimizer =
      batch % 2 == 1 ? OptimizerConfig{.kind = OptimizerKind::kAdamW, .eps = 1e-3f, .weight_decay = 0.01f}
                     : OptimizerConfig{.kind = OptimizerKind::kSgd, .momentum = 0.9f, .nesterov = true, .weight_decay = 0.01f};
  // Adam moves every weight by about lr: 0.01 keeps the second step's network near the first's.
  const float lr = optimizer.kind == OptimizerKind::kSgd ? 0.1f : 0.01f;
  ReferenceBackend reference;
  for (Backend* b : {&backend, static_cast<Backend*>(&reference)}) {
    b->set_model(model, optimizer);
    b->set_training_data(data);
    if (dropout != 0.0f) b->set_regularization({.dropout = dropout, .augmentation = {}, .seed = 5});
  }
  std::vector<Comparison> rows;
  const auto add = [&](std::vector<Comparison> more) { rows.insert(rows.end(), more.begin(), more.end()); };
  for (int step = 0; step < 2; ++step) {
    // Samples in a scrambled order, so a gather that ignores the indices shows.
    std::vector<int64_t> indices(static_cast<size_t>(batch));
    for (int64_t n = 0; n < batch; ++n) indices[size_t(n)] = (n * 7 + step * batch + 3) % data.count;
    // Dropout's counters: step 40 + step, the batch at position 13 + step * batch of its epoch.
    const StepValues values{0.1f, 40 + step, 0};
    const int64_t first = 13 + step * batch;
    phases.forward(indices, values, first);
    reference.forward(indices, values, first);
    const BatchStats got = phases.loss(), want = reference.loss();
    const std::string of = " of step " + std::to_string(step);
    rows.push_back(compare_scalar(got.loss, want.loss, kStepLossTolerance, "loss" + of));
    rows.push_back(compare_count(got.correct, want.correct, "correct" + of));
    rows.push_back(compare_count(got.count, want.count, "count" + of));
    phases.backward();
    reference.backward();
    add(compare_tensors(model.network, phases.gradients(), reference.gradients(), kStepTolerance, "gradients" + of));
    phases.update({lr, step});
    reference.update({lr, step});
    add(compare_tensors(model.network, backend.model().parameters, reference.model().parameters, kStepTolerance,
                        "weights after update" + of));
  }
  // predict() on the first samples, with the (nearly equal) trained weights of each backend.
  const int64_t n = std::min<int64_t>(batch, 17);
  std::vector<float> x(size_t(n * D));
  data.inputs(0, n, x.data());
  std::vector<float> got(size_t(n * C)), want(size_t(n * C));
  backend.predict(x.data(), n, got.data());
  reference.predict(x.data(), n, want.data());
  rows.push_back(compare_relative_to_max(got, want, kStepProbabilityTolerance, "predict probabilities"));
  char dropout_text[32] = "";
  if (dropout != 0.0f) std::snprintf(dropout_text, sizeof dropout_text, " dropout %g", double(dropout));
  const std::string shape = network_text(network) + " batch " + std::to_string(batch) + dropout_text +
                            (input_scale == InputScale::kNone ? " float32" : "");
  for (Comparison& row : rows) {
    row.op = "training step";
    row.shape = shape;
  }
  return rows;
}

std::vector<Comparison> check_training_run(Backend& backend) {
  const std::vector<int> sizes = {49, 12, 9, 10};
  const Dataset data = random_dataset(150, 49, 10, 8);
  TrainOptions options;
  options.epochs = 3;
  options.batch = 32;
  options.lr = 0.1f;
  options.optimizer.momentum = 0.9f;
  options.regularization.dropout = 0.25f;
  ReferenceBackend reference;
  for (Backend* b : {&backend, static_cast<Backend*>(&reference)}) {
    b->set_model(make_mlp(sizes, 2), options.optimizer);
    train(*b, data, nullptr, options, [](const EpochReport&) {});
  }
  std::vector<Comparison> rows = compare_tensors(mlp_network(sizes), backend.model().parameters,
                                                 reference.model().parameters, kTrainingRunTolerance, "weights");
  for (Comparison& row : rows) {
    row.op = "training run";
    row.shape = "49-12-9-10 15 steps momentum dropout 0.25";
  }
  return rows;
}

}  // namespace cudamlp::verify
