// Dropout as the reference defines it (dropout_mask.h, reference::dropout_forward): the fraction it
// drops, that the mean survives it, that its gradient is the derivative of the loss it makes, that it
// is a pure function of its counters, and that evaluation and predict never see it. The other backends'
// masks are compared with this one in test_cpu_backend.cpp, test_gpu_backend.cpp and test_kernels.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "backend_comparison.h"
#include "cudamlp/dropout_mask.h"
#include "cudamlp/rng.h"
#include "cudamlp/trainer.h"
#include "reference_backend.h"
#include "reference_ops.h"

using namespace cudamlp;
using cudamlp::testing::random_dataset;

namespace {

// The fraction dropped of n independent units is binomial: its standard deviation is sqrt(P(1-P)/n).
// Six of them: a right mask fails once in 10^9 runs (and, being deterministic, never flakes), while a
// mask off by 2^-16 in its threshold, or correlated across units or rows, is caught many times over.
constexpr double kFractionSigmas = 6.0;
// Finite differences of a double forward: step 1e-6, error ~1e-12 + rounding ~1e-16/1e-6.
constexpr double kFiniteDifferenceStep = 1e-6;
constexpr double kGradientTolerance = 1e-7;


}  // namespace

TEST(Dropout, DropsAFractionWithinSixStandardDeviationsOfPAndKeepsTheMean) {
  const int64_t B = 1000;
  const int units = 1000;  // 10^6 units: sigma <= 5e-4
  for (const float P : {0.05f, 0.2f, 0.5f, 0.9f}) {
    SCOPED_TRACE("P=" + std::to_string(P));
    std::vector<double> y(size_t(B * units), 1.0);
    reference::dropout_forward(y.data(), B, units, P, 3, 1234, 0, 1);
    int64_t dropped = 0;
    double sum = 0;
    for (const double v : y) {
      dropped += v == 0.0 ? 1 : 0;
      sum += v;
    }
    const double n = double(y.size());
    const double sigma = std::sqrt(double(P) * (1 - double(P)) / n);
    EXPECT_NEAR(double(dropped) / n, double(P), kFractionSigmas * sigma);
    // Inverted dropout keeps the expected value: the mean of the scaled survivors of 1s is 1, to within
    // the same relative fluctuation of the kept fraction.
    EXPECT_NEAR(sum / n, 1.0, kFractionSigmas * sigma / (1 - double(P)));
  }
}

TEST(Dropout, TheMaskIsAPureFunctionOfSeedStepPositionLayerAndUnit) {
  const int units = 64;
  auto mask = [&](uint64_t seed, int64_t step, int64_t first, int layer) {
    std::vector<double> y(size_t(4 * units), 1.0);
    reference::dropout_forward(y.data(), 4, units, 0.5f, seed, step, first, layer);
    return y;
  };
  const std::vector<double> base = mask(1, 10, 100, 0);
  EXPECT_EQ(mask(1, 10, 100, 0), base);  // no state carried between calls
  EXPECT_NE(mask(2, 10, 100, 0), base);
  EXPECT_NE(mask(1, 11, 100, 0), base);
  EXPECT_NE(mask(1, 10, 100, 1), base);
  // Rows are positions: the batch starting one later has row b + 1's mask in row b.
  const std::vector<double> shifted = mask(1, 10, 101, 0);
  EXPECT_TRUE(std::equal(shifted.begin(), shifted.begin() + 3 * units, base.begin() + units));
  // P = 0 keeps everything, unscaled.
  EXPECT_EQ(dropout_threshold(0.0f), 0u);
  EXPECT_EQ(dropout_scale(0.0f), 1.0f);
}

TEST(Dropout, TheGradientWithDropoutIsTheDerivativeOfTheLossItMakes) {
  // A 6-5-4-3 network in double: the mask depends on the counters, not on the weights, so the loss of a
  // step is a smooth function of the weights away from ReLU kinks, and the backward (the ReLU mask times
  // 1 / (1 - P)) must be its derivative.
  const std::vector<int> sizes = {6, 5, 4, 3};
  const int64_t B = 4;
  const float P = 0.4f;
  Rng rng(12);
  std::vector<std::vector<double>> W(3), b(3);
  for (int l = 0; l < 3; ++l) {
    W[size_t(l)].resize(size_t(sizes[size_t(l) + 1] * sizes[size_t(l)]));
    b[size_t(l)].resize(size_t(sizes[size_t(l) + 1]));
    for (double& w : W[size_t(l)]) w = rng.uniform() - 0.3;
    for (double& v : b[size_t(l)]) v = 0.2 * rng.uniform();
  }
  std::vector<double> x(size_t(B * sizes[0]));
  for (double& v : x) v = rng.uniform();
  const uint8_t labels[B] = {0, 2, 1, 2};
  // Forward with dropout after both hidden layers; returns the loss, fills the activations.
  std::vector<std::vector<double>> a(4);
  auto forward = [&]() {
    a[0] = x;
    for (int l = 0; l < 3; ++l) {
      a[size_t(l) + 1].assign(size_t(B * sizes[size_t(l) + 1]), 0.0);
      reference::dense_forward(a[size_t(l)].data(), W[size_t(l)].data(), b[size_t(l)].data(), a[size_t(l) + 1].data(),
                               B, sizes[size_t(l)], sizes[size_t(l) + 1], l < 2);
      if (l < 2) reference::dropout_forward(a[size_t(l) + 1].data(), B, sizes[size_t(l) + 1], P, 9, 3, 50, l);
    }
    std::vector<double> probs(size_t(B * 3)), dlogits(size_t(B * 3));
    return reference::softmax_xent(a[3].data(), labels, probs.data(), dlogits.data(), B, 3).loss;
  };
  forward();
  std::vector<double> probs(size_t(B * 3)), delta(size_t(B * 3));
  reference::softmax_xent(a[3].data(), labels, probs.data(), delta.data(), B, 3);
  // Backward to layer 0's weights.
  std::vector<std::vector<double>> dW(3), db(3);
  for (int l = 2; l >= 0; --l) {
    const int in = sizes[size_t(l)], out = sizes[size_t(l) + 1];
    dW[size_t(l)].resize(size_t(in * out));
    db[size_t(l)].resize(size_t(out));
    reference::dense_backward_weights(delta.data(), a[size_t(l)].data(), dW[size_t(l)].data(), db[size_t(l)].data(), B,
                                      in, out);
    if (l == 0) break;
    std::vector<double> dx(size_t(B * in));
    reference::dense_backward_input(delta.data(), W[size_t(l)].data(), a[size_t(l)].data(), dx.data(), B, in, out,
                                    true, dropout_scale(P));
    delta.swap(dx);
  }
  int dropped = 0;
  for (int l = 1; l <= 2; ++l)
    for (const double v : a[size_t(l)]) dropped += v == 0.0 ? 1 : 0;
  EXPECT_GT(dropped, 0);  // the mask matters here
  for (int l = 0; l < 3; ++l)
    for (size_t i = 0; i < W[size_t(l)].size(); ++i) {
      const double kept = W[size_t(l)][i];
      W[size_t(l)][i] = kept + kFiniteDifferenceStep;
      const double up = forward();
      W[size_t(l)][i] = kept - kFiniteDifferenceStep;
      const double down = forward();
      W[size_t(l)][i] = kept;
      EXPECT_NEAR(dW[size_t(l)][i], (up - down) / (2 * kFiniteDifferenceStep), kGradientTolerance)
          << "dW" << l << "[" << i << "]";
    }
}

TEST(Dropout, EvaluationAndPredictDoNotApplyIt) {
  const std::vector<int> sizes = {20, 16, 8, 5};
  const Dataset data = random_dataset(50, 20, 5, 4);
  const Model model = make_mlp(sizes, 3);
  ReferenceBackend plain, dropping;
  plain.set_model(model, {});
  dropping.set_model(model, {});
  dropping.set_regularization({.dropout = 0.5f, .augmentation = {}, .seed = 2});
  const EvalResult want = evaluate(plain, data), got = evaluate(dropping, data);
  EXPECT_EQ(got.loss, want.loss);
  EXPECT_EQ(got.correct, want.correct);
  EXPECT_EQ(got.confusion, want.confusion);
  std::vector<float> x(size_t(data.count) * 20);
  for (size_t i = 0; i < x.size(); ++i) x[i] = scale_pixel(data.pixels[i]);
  std::vector<float> want_probs(size_t(data.count) * 5), got_probs(want_probs.size());
  plain.predict(x.data(), data.count, want_probs.data());
  dropping.predict(x.data(), data.count, got_probs.data());
  EXPECT_EQ(got_probs, want_probs);
  // ... while a training forward does apply it: the loss differs.
  dropping.set_training_data(data);
  plain.set_training_data(data);
  const std::vector<int64_t> indices = {0, 1, 2, 3, 4, 5, 6, 7};
  dropping.forward(indices);
  plain.forward(indices);
  EXPECT_NE(dropping.loss().loss, plain.loss().loss);
}
