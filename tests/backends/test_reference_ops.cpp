// The reference ops and backend: hand-computed values, numerical stability, and gradients against
// central finite differences on small random networks of several depths.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "cudamlp/rng.h"
#include "reference_ops.h"
#include "reference_backend.h"

using namespace cudamlp;

namespace {

// Finite differences: the loss is computed in double (ops<double>), central differences have error
// O(eps^2) ~ 1e-10 plus rounding ~1e-16/eps ~ 1e-11. The analytic gradient comes from the float backend
// (float storage, double sums): relative error ~1e-6. So 2e-5 relative + 1e-6 absolute separates a
// right gradient from any wrong one (a wrong term is off by O(1) relative).
constexpr double kFiniteDifferenceStep = 1e-5;
constexpr double kGradientRelTolerance = 2e-5;
constexpr double kGradientAbsTolerance = 1e-6;

Dataset random_dataset(int64_t n, int rows, int cols, int classes, uint64_t seed) {
  Dataset data;
  data.count = n;
  data.rows = rows;
  data.cols = cols;
  data.num_classes = classes;
  Rng rng(seed);
  data.pixels.resize(size_t(n * rows * cols));
  for (uint8_t& p : data.pixels) p = uint8_t(rng.below(256));
  data.labels.resize(size_t(n));
  for (uint8_t& label : data.labels) label = uint8_t(rng.below(uint64_t(classes)));
  return data;
}

// Mean cross-entropy of `model` (as doubles) on samples `indices` of data, computed with ops<double>.
double loss_in_double(const std::vector<std::vector<double>>& weights, const std::vector<std::vector<double>>& biases,
                      const std::vector<int>& sizes, const Dataset& data, const std::vector<int64_t>& indices) {
  const int64_t B = int64_t(indices.size());
  std::vector<double> x(size_t(B * sizes[0]));
  std::vector<uint8_t> labels(static_cast<size_t>(B));
  for (int64_t n = 0; n < B; ++n) {
    for (int i = 0; i < sizes[0]; ++i) x[size_t(n * sizes[0] + i)] = double(scale_pixel(data.pixels[size_t(indices[size_t(n)] * sizes[0] + i)]));
    labels[size_t(n)] = data.labels[size_t(indices[size_t(n)])];
  }
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    std::vector<double> y(size_t(B * sizes[l + 1]));
    reference::dense_forward(x.data(), weights[l].data(), biases[l].data(), y.data(), B, sizes[l], sizes[l + 1],
                             l + 2 < sizes.size());
    x.swap(y);
  }
  const int C = sizes.back();
  std::vector<double> probs(size_t(B * C)), dlogits(size_t(B * C));
  return reference::softmax_xent(x.data(), labels.data(), probs.data(), dlogits.data(), B, C).loss;
}

void expect_gradients_match_finite_differences(const std::vector<int>& sizes, int64_t batch, uint64_t seed) {
  const Dataset data = random_dataset(batch + 3, 1, sizes[0], sizes.back(), seed);
  Model model = make_mlp(sizes, seed);
  // Non-zero biases: with zero biases a sample whose previous layer is all dead sits exactly on the
  // ReLU kink, where finite differences see half a slope.
  Rng rng(seed + 100);
  for (size_t l = 0; l < model.network.layers.size(); ++l)
    for (float& b : model.bias(l)) b = float(0.2 * rng.uniform() - 0.1);
  ReferenceBackend backend;
  backend.set_model(model, {});
  backend.set_training_data(data);
  std::vector<int64_t> indices(static_cast<size_t>(batch));
  std::iota(indices.begin(), indices.end(), int64_t{2});  // not starting at 0: gather must use indices
  backend.forward(indices);
  backend.loss();
  backend.backward();
  const std::vector<float> gradients = backend.gradients();

  std::vector<std::vector<double>> weights, biases;
  for (size_t l = 0; l < model.network.layers.size(); ++l) {
    weights.emplace_back(model.weight(l).begin(), model.weight(l).end());
    biases.emplace_back(model.bias(l).begin(), model.bias(l).end());
  }
  auto check = [&](std::vector<double>& param, const float* grad, const std::string& what) {
    for (size_t i = 0; i < param.size(); ++i) {
      const double saved = param[i];
      param[i] = saved + kFiniteDifferenceStep;
      const double up = loss_in_double(weights, biases, sizes, data, indices);
      param[i] = saved - kFiniteDifferenceStep;
      const double down = loss_in_double(weights, biases, sizes, data, indices);
      param[i] = saved;
      const double numeric = (up - down) / (2 * kFiniteDifferenceStep);
      ASSERT_NEAR(grad[i], numeric, kGradientAbsTolerance + kGradientRelTolerance * std::abs(numeric))
          << what << "[" << i << "]";
    }
  };
  for (size_t l = 0; l < model.network.layers.size(); ++l) {
    check(weights[l], gradients.data() + model.network.weight_offset(l), "layer " + std::to_string(l) + " weight");
    check(biases[l], gradients.data() + model.network.bias_offset(l), "layer " + std::to_string(l) + " bias");
  }
}

}  // namespace

TEST(ReferenceGradients, MatchFiniteDifferencesWithoutHiddenLayer) {
  expect_gradients_match_finite_differences({6, 3}, 4, 11);
}

TEST(ReferenceGradients, MatchFiniteDifferencesWithOneHiddenLayer) {
  expect_gradients_match_finite_differences({7, 5, 4}, 3, 12);
}

TEST(ReferenceGradients, MatchFiniteDifferencesWithThreeHiddenLayers) {
  expect_gradients_match_finite_differences({9, 8, 6, 5, 3}, 5, 13);
}

TEST(ReferenceGradients, MatchFiniteDifferencesWithBatchOfOneAndWidthOne) {
  expect_gradients_match_finite_differences({4, 1, 2}, 1, 14);
}

TEST(DenseForward, ComputesXWTransposePlusBiasThenRelu) {
  const float x[2 * 3] = {1, 2, 3, -1, 0, 1};            // [B=2, in=3]
  const float W[2 * 3] = {1, 0, -1, 0.5f, 0.5f, 0.5f};   // [out=2, in=3]
  const float b[2] = {0.5f, -4};
  float y[4];
  reference::dense_forward(x, W, b, y, 2, 3, 2, false);
  EXPECT_FLOAT_EQ(y[0], 1 - 3 + 0.5f);
  EXPECT_FLOAT_EQ(y[1], 3 - 4);
  EXPECT_FLOAT_EQ(y[2], -1 - 1 + 0.5f);
  EXPECT_FLOAT_EQ(y[3], 0 - 4);
  reference::dense_forward(x, W, b, y, 2, 3, 2, true);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 0.0f);
}

TEST(DenseBackward, ComputesWeightBiasAndInputGradients) {
  const float x[2 * 2] = {1, 2, 3, 4};      // [B=2, in=2]
  const float W[3 * 2] = {1, 2, 3, 4, 5, 6};  // [out=3, in=2]
  const float dy[2 * 3] = {1, 0, -1, 2, 1, 0};  // [B=2, out=3]
  float dW[6], db[3], dx[4];
  reference::dense_backward_weights(dy, x, dW, db, 2, 2, 3);
  reference::dense_backward_input(dy, W, x, dx, 2, 2, 3, false);
  // dW = dy^T x
  const float expected_dW[6] = {1 * 1 + 2 * 3, 1 * 2 + 2 * 4, 0 + 3, 0 + 4, -1, -2};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(dW[i], expected_dW[i]) << i;
  EXPECT_FLOAT_EQ(db[0], 3);
  EXPECT_FLOAT_EQ(db[1], 1);
  EXPECT_FLOAT_EQ(db[2], -1);
  // dx = dy W
  EXPECT_FLOAT_EQ(dx[0], 1 * 1 - 5);
  EXPECT_FLOAT_EQ(dx[1], 1 * 2 - 6);
  EXPECT_FLOAT_EQ(dx[2], 2 * 1 + 3);
  EXPECT_FLOAT_EQ(dx[3], 2 * 2 + 4);
}

TEST(DenseBackward, TheInputGradientPassesThePreviousReluOnlyWhereItsOutputIsPositive) {
  const float x[1 * 4] = {0, 2, -0.0f, 0.5f};  // [B=1, in=4]: the previous layer's ReLU output
  const float W[1 * 4] = {1, 2, 3, 4};         // [out=1, in=4]
  const float dy[1] = {1};
  float dx[4];
  reference::dense_backward_input(dy, W, x, dx, 1, 4, 1, true);
  EXPECT_EQ(dx[0], 0);
  EXPECT_EQ(dx[1], 2);
  EXPECT_EQ(dx[2], 0);
  EXPECT_EQ(dx[3], 4);
}

TEST(SoftmaxXent, MatchesHandComputedValues) {
  const float logits[2 * 2] = {0, 0, std::log(3.0f), 0};  // rows: p = (1/2, 1/2), (3/4, 1/4)
  const uint8_t labels[2] = {1, 0};
  float probs[4], dlogits[4];
  const BatchStats stats = reference::softmax_xent(logits, labels, probs, dlogits, 2, 2);
  EXPECT_NEAR(stats.loss, (std::log(2.0) + std::log(4.0 / 3.0)) / 2, 1e-7);
  EXPECT_EQ(stats.correct, 1);  // row 0 ties and picks class 0 (first maximum), row 1 is right
  EXPECT_FLOAT_EQ(probs[2], 0.75f);
  EXPECT_FLOAT_EQ(dlogits[0], 0.25f);    // (0.5 - 0) / 2
  EXPECT_FLOAT_EQ(dlogits[1], -0.25f);   // (0.5 - 1) / 2
  EXPECT_FLOAT_EQ(dlogits[2], -0.125f);  // (0.75 - 1) / 2
}

TEST(SoftmaxXent, IsStableForHugeLogitsAndProbabilitiesSumToOne) {
  const float logits[3 * 3] = {1e4f, -1e4f, 0, -1e4f, -1e4f, -1e4f, 1e4f, 1e4f - 1, -1e4f};
  const uint8_t labels[3] = {1, 2, 0};
  float probs[9], dlogits[9];
  const BatchStats stats = reference::softmax_xent(logits, labels, probs, dlogits, 3, 3);
  ASSERT_TRUE(std::isfinite(stats.loss));
  // Row 0 puts all mass on class 0 but the label is 1: loss 2e4. Row 1 is uniform: log 3.
  // Row 2: log(1 + e^-1) with the right class on top.
  EXPECT_NEAR(stats.loss, (2e4 + std::log(3.0) + std::log1p(std::exp(-1.0))) / 3, 1e-2);
  for (int n = 0; n < 3; ++n) {
    double sum = 0;
    for (int c = 0; c < 3; ++c) {
      ASSERT_TRUE(std::isfinite(probs[n * 3 + c]));
      ASSERT_TRUE(std::isfinite(dlogits[n * 3 + c]));
      sum += probs[n * 3 + c];
    }
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
  EXPECT_FLOAT_EQ(probs[3], 1.0f / 3);
}

TEST(SgdUpdate, FollowsPyTorchMomentumSemantics) {
  // PyTorch SGD(momentum=mu): v1 = g1; w1 = w0 - lr v1; v2 = mu v1 + g2; w2 = w1 - lr v2.
  float w[1] = {1.0f}, v[1] = {0.0f};
  const float g1[1] = {0.5f}, g2[1] = {-0.25f};
  reference::sgd_update(w, g1, v, 1, 0.1f, 0.9f, false, 0.0f);
  EXPECT_FLOAT_EQ(v[0], 0.5f);
  EXPECT_FLOAT_EQ(w[0], 0.95f);
  reference::sgd_update(w, g2, v, 1, 0.1f, 0.9f, false, 0.0f);
  EXPECT_FLOAT_EQ(v[0], 0.9f * 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(w[0], 0.95f - 0.1f * 0.2f);
}

TEST(SgdUpdate, FollowsPyTorchNesterovAndWeightDecaySemantics) {
  // PyTorch SGD(momentum=mu, nesterov=True, weight_decay=wd): g' = g + wd w; v = mu v + g'; w -= lr (g' + mu v).
  double w[1] = {1.0}, v[1] = {0.0};
  const double g1[1] = {0.5};
  reference::sgd_update(w, g1, v, 1, 0.1f, 0.5f, true, 0.25f);
  EXPECT_DOUBLE_EQ(v[0], 0.75);
  EXPECT_NEAR(w[0], 1.0 - double(0.1f) * (0.75 + 0.5 * 0.75), 1e-9);
}

TEST(AdamUpdate, FirstStepMovesEachWeightByTheLearningRateAgainstItsGradient) {
  // Step 1 of torch.optim.Adam: m = (1 - b1) g and s = (1 - b2) g^2, and the bias corrections undo
  // exactly those factors, so w -= lr g / (|g| + eps): a move of almost exactly lr.
  double w[2] = {1.0, -2.0}, m[2] = {}, s[2] = {};
  const double g[2] = {0.5, -0.125};
  reference::adam_update(w, g, m, s, 2, 0.1f, 0, 0.9f, 0.999f, 1e-8f, 0.0f, false);
  EXPECT_NEAR(m[0], (1.0 - double(0.9f)) * 0.5, 1e-12);
  EXPECT_NEAR(s[1], (1.0 - double(0.999f)) * 0.125 * 0.125, 1e-12);
  EXPECT_NEAR(w[0], 1.0 - double(0.1f) * 0.5 / (0.5 + double(1e-8f)), 1e-9);
  EXPECT_NEAR(w[1], -2.0 + double(0.1f) * 0.125 / (0.125 + double(1e-8f)), 1e-9);
}

TEST(AdamUpdate, AdamAddsTheDecayToTheGradientAndAdamWShrinksTheWeight) {
  // Adam's first step sees g + wd w (so its move is still lr, in that direction); AdamW's first
  // multiplies w by 1 - lr wd and then moves by lr against g alone.
  double adam[1] = {1.0}, adamw[1] = {1.0}, m[2] = {}, s[2] = {};
  const double g[1] = {-0.01};
  reference::adam_update(adam, g, m, s, 1, 0.1f, 0, 0.9f, 0.999f, 1e-8f, 0.5f, false);
  EXPECT_NEAR(adam[0], 1.0 - double(0.1f), 1e-6);  // g + wd w = 0.49 > 0: moves down by lr
  reference::adam_update(adamw, g, m + 1, s + 1, 1, 0.1f, 0, 0.9f, 0.999f, 1e-8f, 0.5f, true);
  EXPECT_NEAR(adamw[0], (1.0 - double(0.1f) * double(0.5f)) + double(0.1f), 1e-6);
}

TEST(ReferenceBackend, PredictGivesRowsOfProbabilities) {
  const Model model = make_mlp(std::vector<int>{5, 4, 3}, 9);
  ReferenceBackend backend;
  backend.set_model(model, {});
  const float x[2 * 5] = {0, 0.1f, 0.2f, 0.3f, 1, 1, 1, 1, 1, 1};
  float probs[6];
  backend.predict(x, 2, probs);
  for (int n = 0; n < 2; ++n) EXPECT_NEAR(probs[n * 3] + probs[n * 3 + 1] + probs[n * 3 + 2], 1.0, 1e-6);
}
