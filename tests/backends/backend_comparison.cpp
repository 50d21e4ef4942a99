// See backend_comparison.h.
#include "backend_comparison.h"

#include <algorithm>
#include <sstream>

#include "cudamlp/rng.h"
#include "reference_backend.h"

namespace cudamlp::testing {

namespace {

// Loss: a mean of float log-sum-exps against the reference's double ones; relative.
constexpr double kLossTolerance = 1e-5;
// Gradients and weights after a step, relative to each tensor's largest value: about sqrt(K) * eps *
// sqrt(B) (a dW entry sums B terms of both signs, so its magnitude exceeds its value ~sqrt(B) times)
// with K and B up to ~1000, compounded over a few layers: measured ~1e-6 on the first step. The
// second step starts from weights that already differ by the first one's rounding, which a lr-0.1 step
// on a batch of one amplifies in the next gradients: measured up to 5e-5 there.
constexpr double kStepTolerance = 2e-4;
// Probabilities are at most 1: float exp and a float sum over C <= 256 terms, compounded over the layers.
constexpr double kProbabilityTolerance = 1e-5;

std::string sizes_text(const std::vector<int>& sizes) {
  std::string text;
  for (size_t i = 0; i < sizes.size(); ++i) text += (i ? "-" : "") + std::to_string(sizes[i]);
  return text;
}

}  // namespace

std::vector<DenseShape> dense_shape_grid() {
  // Read as (batch, in, out): each awkward size is `in` twice and `out` twice, each batch three times.
  return {{1, 1, 1},       {3, 1, 1000},     {64, 7, 31},    {257, 7, 1},      {1, 31, 7},
          {3, 31, 129},    {64, 33, 127},    {257, 33, 784}, {1, 127, 33},     {3, 127, 7},
          {64, 129, 1000}, {257, 129, 33},   {1, 784, 127},  {64, 784, 10},    {257, 784, 129},
          {3, 1000, 31},   {1, 1000, 784},   {257, 1000, 1}};
}

std::vector<std::vector<int>> network_grid() {
  return {{7, 1}, {33, 7}, {1, 1, 2}, {31, 1000, 7}, {127, 33, 129, 3}, {784, 129, 31, 10}};
}

std::vector<float> random_floats(size_t n, float lo, float hi, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> values(n);
  for (float& v : values) v = lo + (hi - lo) * float(rng.uniform());
  return values;
}

Dataset random_dataset(int64_t n, int D, int C, uint64_t seed) {
  Dataset data;
  data.count = n;
  data.rows = 1;
  data.cols = D;
  data.num_classes = C;
  Rng rng(seed);
  data.pixels.resize(size_t(n * D));
  for (uint8_t& p : data.pixels) p = uint8_t(rng.below(256));
  data.labels.resize(size_t(n));
  for (uint8_t& label : data.labels) label = uint8_t(rng.below(uint64_t(C)));
  return data;
}

Dataset random_float_dataset(int64_t n, int D, int C, uint64_t seed) {
  Rng rng(seed);
  std::vector<uint8_t> labels(static_cast<size_t>(n));
  for (uint8_t& label : labels) label = uint8_t(rng.below(uint64_t(C)));
  return float_dataset(random_floats(size_t(n * D), -3.0f, 3.0f, seed + 1), n, D, std::move(labels), C);
}

std::vector<float> absolute(std::span<const float> values) {
  std::vector<float> result(values.size());
  std::transform(values.begin(), values.end(), result.begin(), [](float v) { return std::abs(v); });
  return result;
}

::testing::AssertionResult near_dot_products(std::span<const float> actual, std::span<const float> expected,
                                             std::span<const float> magnitude, int64_t K, double floor,
                                             const std::string& what) {
  if (actual.size() != expected.size() || magnitude.size() != expected.size())
    return ::testing::AssertionFailure() << what << ": sizes differ";
  const double scale = kDotProductSlack * std::sqrt(double(std::max<int64_t>(K, 1))) * kFloatEps;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double bound = scale * double(magnitude[i]) + floor;
    if (!(std::abs(double(actual[i]) - double(expected[i])) <= bound))
      return ::testing::AssertionFailure() << what << "[" << i << "]: " << actual[i] << " vs reference "
                                           << expected[i] << ", bound " << bound << " (K = " << K << ")";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult near_relative_to_max(std::span<const float> actual, std::span<const float> expected,
                                                double tolerance, const std::string& what) {
  if (actual.size() != expected.size()) return ::testing::AssertionFailure() << what << ": sizes differ";
  double largest = 0;
  for (const float v : expected) largest = std::max(largest, double(std::abs(v)));
  const double bound = tolerance * largest + 1e-30;
  for (size_t i = 0; i < actual.size(); ++i)
    if (!(std::abs(double(actual[i]) - double(expected[i])) <= bound))
      return ::testing::AssertionFailure() << what << "[" << i << "]: " << actual[i] << " vs reference "
                                           << expected[i] << ", bound " << bound << " (" << tolerance
                                           << " of the largest, " << largest << ")";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult tensors_near(const Network& network, std::span<const float> actual,
                                        std::span<const float> expected, double tolerance, const std::string& what) {
  if (int64_t(actual.size()) != network.parameter_count() || int64_t(expected.size()) != network.parameter_count())
    return ::testing::AssertionFailure() << what << ": " << actual.size() << " and " << expected.size()
                                         << " values, the network has " << network.parameter_count();
  for (const ParameterTensor& tensor : network.tensors()) {
    auto near = near_relative_to_max(actual.subspan(size_t(tensor.offset), size_t(tensor.size)),
                                     expected.subspan(size_t(tensor.offset), size_t(tensor.size)), tolerance,
                                     what + " " + tensor.name);
    if (!near) return near;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult models_near(const Model& actual, const Model& expected, double tolerance,
                                       const std::string& what) {
  if (!(actual.network == expected.network)) return ::testing::AssertionFailure() << what << ": networks differ";
  return tensors_near(actual.network, actual.parameters, expected.parameters, tolerance, what);
}

::testing::AssertionResult states_near(const Network& network, const OptimizerState& actual,
                                       const OptimizerState& expected, double tolerance, const std::string& what) {
  if (actual.slots.size() != expected.slots.size()) return ::testing::AssertionFailure() << what << ": slots differ";
  for (const auto& [slot, values] : expected.slots) {
    const auto it = actual.slots.find(slot);
    if (it == actual.slots.end()) return ::testing::AssertionFailure() << what << ": no " << slot;
    auto near = tensors_near(network, it->second, values, tolerance, what + " " + slot);
    if (!near) return near;
  }
  return ::testing::AssertionSuccess();
}

Network network_with_a_linear_hidden_layer() {
  Network network = mlp_network(std::vector<int>{100, 37, 17, 5});
  network.layers[0].activation = Activation::kNone;
  return network;
}

void expect_step_matches_reference(Backend& backend, StepPhases& phases, const std::vector<int>& sizes, int64_t batch,
                                   float dropout, InputScale input_scale) {
  expect_step_matches_reference(backend, phases, mlp_network(sizes), batch, dropout, input_scale);
}

void expect_step_matches_reference(Backend& backend, StepPhases& phases, const Network& network, int64_t batch,
                                   float dropout, InputScale input_scale) {
  const std::vector<int> sizes = network.sizes();
  std::string activations;
  for (const LayerSpec& layer : network.layers) activations += std::string(" ") + activation_name(layer.activation);
  SCOPED_TRACE(backend.name() + " " + sizes_text(sizes) + activations + " batch " + std::to_string(batch) +
               (dropout != 0.0f ? " dropout " + std::to_string(dropout) : "") + " " +
               std::string(input_kind_name(input_scale)));
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
    EXPECT_NEAR(got.loss, want.loss, kLossTolerance * std::max(1.0, std::abs(want.loss))) << "step " << step;
    EXPECT_EQ(got.correct, want.correct) << "step " << step;
    EXPECT_EQ(got.count, want.count) << "step " << step;
    phases.backward();
    reference.backward();
    const std::string after = " of step " + std::to_string(step);
    EXPECT_TRUE(tensors_near(model.network, phases.gradients(), reference.gradients(), kStepTolerance,
                             "gradients" + after));
    phases.update({lr, step});
    reference.update({lr, step});
    EXPECT_TRUE(models_near(backend.model(), reference.model(), kStepTolerance, "weights after update" + after));
  }
  // predict() on the first samples, with the (nearly equal) trained weights of each backend.
  const int64_t n = std::min<int64_t>(batch, 17);
  std::vector<float> x(size_t(n * D));
  data.inputs(0, n, x.data());
  std::vector<float> got(size_t(n * C)), want(size_t(n * C));
  backend.predict(x.data(), n, got.data());
  reference.predict(x.data(), n, want.data());
  EXPECT_TRUE(near_relative_to_max(got, want, kProbabilityTolerance, "predict probabilities"));
}

}  // namespace cudamlp::testing
