// The cpu backend against the reference: every op over the awkward shape grid of backend_comparison.h
// (the optimizers' updates: test_optimizers.cpp), whole training steps phase by phase, a 100-step training
// run, and thread counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "backend_comparison.h"
#include "cpu_backend.h"
#include "cpu_ops.h"
#include "cudamlp/errors.h"
#include "cudamlp/rng.h"
#include "cudamlp/trainer.h"
#include "reference_ops.h"
#include "reference_backend.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

// An exact zero in the reference (a ReLU, a column of zeros) against float rounding noise of size
// eps * magnitude is covered by the relative bound; this floor only keeps 0-vs-1e-45 from failing.
constexpr double kZeroFloor = 1e-30;
// softmax_xent: float exp, a float sum over C <= 256 terms and (l - max) rounded in float, against the
// reference in double: a few ulps of relative error per probability, on values at most 1.
constexpr double kProbabilityTolerance = 2e-6;
constexpr double kLossTolerance = 1e-6;
// Dropout: a kept unit is one float product, value * scale, correctly rounded here and in the reference
// (which rounds the exact double product to float): the same number. One ulp of slack all the same.
constexpr double kDropoutRelativeTolerance = kFloatEps;  // relative: log of a float sum, averaged over the batch in double
// A 100-step training run (momentum 0.9, lr 0.1): every step adds float-vs-double differences of about
// sqrt(K) * eps relative and SGD carries them forward without damping them much. Relative to each
// tensor's largest value the measured difference is below 1e-6 (OpenBLAS, 1 or 2 threads); the bound
// leaves a factor of 10 for other BLAS builds and CPUs.
constexpr double kTrainingRunTolerance = 1e-5;

std::string shape_name(const DenseShape& s) {
  return "B=" + std::to_string(s.batch) + " in=" + std::to_string(s.in) + " out=" + std::to_string(s.out);
}

}  // namespace

TEST(CpuGatherBatch, ScalesPixelsExactlyAsTheReference) {
  const Dataset data = random_dataset(300, 784, 10, 1);
  for (const int64_t B : kAwkwardBatches) {
    std::vector<int64_t> indices(static_cast<size_t>(B));
    for (int64_t n = 0; n < B; ++n) indices[size_t(n)] = (n * 37 + 11) % data.count;
    std::vector<float> got(size_t(B * 784)), want(got.size());
    std::vector<uint8_t> got_labels(static_cast<size_t>(B)), want_labels(static_cast<size_t>(B));
    cpu::gather_batch(data, indices, got.data(), got_labels.data());
    reference::gather_batch(data, indices, want.data(), want_labels.data());
    EXPECT_EQ(got, want) << "B=" << B;  // bitwise: both use scale_pixel
    EXPECT_EQ(got_labels, want_labels) << "B=" << B;
  }
}

TEST(CpuGatherBatch, CopiesFloatFeaturesExactlyAsTheReference) {
  for (const std::vector<int>& sizes : kFloatFeatureNetworks) {
    const int D = sizes.front();
    const Dataset data = random_float_dataset(300, D, 3, uint64_t(D));
    for (const int64_t B : kAwkwardBatches) {
      std::vector<int64_t> indices(static_cast<size_t>(B));
      for (int64_t n = 0; n < B; ++n) indices[size_t(n)] = (n * 37 + 11) % data.count;
      std::vector<float> got(size_t(B * D)), want(got.size());
      std::vector<uint8_t> got_labels(static_cast<size_t>(B)), want_labels(static_cast<size_t>(B));
      cpu::gather_batch(data, indices, got.data(), got_labels.data());
      reference::gather_batch(data, indices, want.data(), want_labels.data());
      EXPECT_EQ(got, want) << "D=" << D << " B=" << B;  // bitwise: both copy
      EXPECT_EQ(got_labels, want_labels) << "D=" << D << " B=" << B;
    }
  }
}

TEST(CpuDenseForward, MatchesReferenceOnAwkwardShapes) {
  for (const DenseShape& s : dense_shape_grid()) {
    SCOPED_TRACE(shape_name(s));
    const std::vector<float> x = random_floats(size_t(s.batch * s.in), -1, 1, 1);
    const std::vector<float> W = random_floats(size_t(s.out) * s.in, -0.5f, 0.5f, 2);
    const std::vector<float> b = random_floats(size_t(s.out), -0.5f, 0.5f, 3);
    // magnitude = |b| + sum_i |x_i| |w_i|: the reference op on absolute values.
    std::vector<float> magnitude(size_t(s.batch * s.out));
    reference::dense_forward(absolute(x).data(), absolute(W).data(), absolute(b).data(), magnitude.data(),
                             s.batch, s.in, s.out, false);
    for (const bool relu : {false, true}) {
      std::vector<float> got(magnitude.size()), want(magnitude.size());
      cpu::dense_forward(x.data(), W.data(), b.data(), got.data(), s.batch, s.in, s.out, relu);
      reference::dense_forward(x.data(), W.data(), b.data(), want.data(), s.batch, s.in, s.out, relu);
      EXPECT_TRUE(near_dot_products(got, want, magnitude, s.in, kZeroFloor, relu ? "relu(y)" : "y"));
      if (relu) {
        EXPECT_TRUE(std::all_of(got.begin(), got.end(), [](float v) { return v >= 0; }));
      }
    }
  }
}

TEST(CpuDenseBackwardWeights, MatchesReferenceWeightAndBiasGradientsOnAwkwardShapes) {
  for (const DenseShape& s : dense_shape_grid()) {
    SCOPED_TRACE(shape_name(s));
    const std::vector<float> dy = random_floats(size_t(s.batch * s.out), -1, 1, 4);
    const std::vector<float> x = random_floats(size_t(s.batch * s.in), 0, 1, 5);
    std::vector<float> dW_mag(size_t(s.out) * s.in), db_mag(size_t(s.out));
    reference::dense_backward_weights(absolute(dy).data(), absolute(x).data(), dW_mag.data(), db_mag.data(), s.batch,
                                      s.in, s.out);
    std::vector<float> dW(dW_mag.size()), db(db_mag.size()), want_dW(dW_mag.size()), want_db(db_mag.size());
    cpu::dense_backward_weights(dy.data(), x.data(), dW.data(), db.data(), s.batch, s.in, s.out);
    reference::dense_backward_weights(dy.data(), x.data(), want_dW.data(), want_db.data(), s.batch, s.in, s.out);
    EXPECT_TRUE(near_dot_products(dW, want_dW, dW_mag, s.batch, kZeroFloor, "dW"));
    EXPECT_TRUE(near_dot_products(db, want_db, db_mag, s.batch, kZeroFloor, "db"));
  }
}

TEST(CpuDenseBackwardInput, MatchesReferenceWithAndWithoutTheReluMaskOnAwkwardShapes) {
  for (const DenseShape& s : dense_shape_grid()) {
    SCOPED_TRACE(shape_name(s));
    const std::vector<float> dy = random_floats(size_t(s.batch * s.out), -1, 1, 4);
    const std::vector<float> W = random_floats(size_t(s.out) * s.in, -0.5f, 0.5f, 6);
    // x: a ReLU's output, a third of it exactly zero (no gradient passes there).
    std::vector<float> x = random_floats(size_t(s.batch * s.in), -0.5f, 1, 5);
    for (float& v : x) v = std::max(v, 0.0f);
    std::vector<float> dx_mag(x.size());
    reference::dense_backward_input(absolute(dy).data(), absolute(W).data(), x.data(), dx_mag.data(), s.batch, s.in,
                                    s.out, false);
    for (const bool relu_mask : {false, true}) {
      std::vector<float> dx(x.size()), want_dx(x.size());
      cpu::dense_backward_input(dy.data(), W.data(), x.data(), dx.data(), s.batch, s.in, s.out, relu_mask);
      reference::dense_backward_input(dy.data(), W.data(), x.data(), want_dx.data(), s.batch, s.in, s.out, relu_mask);
      EXPECT_TRUE(near_dot_products(dx, want_dx, dx_mag, s.out, kZeroFloor, relu_mask ? "masked dx" : "dx"));
      if (!relu_mask) continue;
      for (size_t i = 0; i < x.size(); ++i) {
        if (x[i] == 0.0f) {
          ASSERT_EQ(dx[i], 0.0f) << "dx[" << i << "] where the ReLU was off";
        }
      }
    }
  }
}

TEST(CpuDenseBackwardInput, ScalesTheGradientsTheReluMaskPassesByDropoutsScale) {
  for (const DenseShape& s : dense_shape_grid()) {
    SCOPED_TRACE(shape_name(s));
    const float mask_scale = 1.0f / (1.0f - 0.3f);
    const std::vector<float> dy = random_floats(size_t(s.batch * s.out), -1, 1, 4);
    const std::vector<float> W = random_floats(size_t(s.out) * s.in, -0.5f, 0.5f, 6);
    std::vector<float> x = random_floats(size_t(s.batch * s.in), -0.5f, 1, 5);
    for (float& v : x) v = std::max(v, 0.0f);
    std::vector<float> dx_mag(x.size());
    reference::dense_backward_input(absolute(dy).data(), absolute(W).data(), x.data(), dx_mag.data(), s.batch, s.in,
                                    s.out, false, mask_scale);
    std::vector<float> dx(x.size()), want_dx(x.size());
    cpu::dense_backward_input(dy.data(), W.data(), x.data(), dx.data(), s.batch, s.in, s.out, true, mask_scale);
    reference::dense_backward_input(dy.data(), W.data(), x.data(), want_dx.data(), s.batch, s.in, s.out, true,
                                    mask_scale);
    for (float& m : dx_mag) m *= mask_scale;
    EXPECT_TRUE(near_dot_products(dx, want_dx, dx_mag, s.out, kZeroFloor, "masked, scaled dx"));
  }
}

TEST(CpuDropoutForward, DrawsTheReferencesMaskOnAwkwardShapes) {
  for (const int64_t B : kAwkwardBatches)
    for (const int units : kAwkwardSizes)
      for (const float P : {0.1f, 0.5f, 0.8f}) {
        SCOPED_TRACE("B=" + std::to_string(B) + " units=" + std::to_string(units) + " P=" + std::to_string(P));
        // Positive values, as a ReLU's survivors: every zero afterwards is dropout's.
        std::vector<float> y = random_floats(size_t(B * units), 0.01f, 2, uint64_t(B + units));
        std::vector<float> want = y;
        reference::dropout_forward(want.data(), B, units, P, 11, 77, 5000, 2);
        cpu::dropout_forward(y.data(), B, units, P, 11, 77, 5000, 2);
        for (size_t k = 0; k < y.size(); ++k) {
          ASSERT_EQ(y[k] == 0.0f, want[k] == 0.0f) << "unit " << k << " dropped on one side only";
          ASSERT_NEAR(y[k], want[k], kDropoutRelativeTolerance * want[k]) << "unit " << k;
        }
      }
}

TEST(CpuSoftmaxXent, MatchesReferenceLossProbabilitiesAndGradients) {
  for (const int64_t B : kAwkwardBatches) {
    for (const int C : {1, 7, 10, 31, 33, 127, 129, 256}) {
      SCOPED_TRACE("B=" + std::to_string(B) + " C=" + std::to_string(C));
      const std::vector<float> logits = random_floats(size_t(B * C), -8, 8, uint64_t(B * C));
      std::vector<uint8_t> labels(static_cast<size_t>(B));
      for (int64_t n = 0; n < B; ++n) labels[size_t(n)] = uint8_t((n * 13) % C);
      std::vector<float> probs(logits.size()), dlogits(logits.size());
      std::vector<float> want_probs(logits.size()), want_dlogits(logits.size());
      const BatchStats got = cpu::softmax_xent(logits.data(), labels.data(), probs.data(), dlogits.data(), B, C);
      const BatchStats want = reference::softmax_xent(logits.data(), labels.data(), want_probs.data(),
                                                      want_dlogits.data(), B, C);
      EXPECT_NEAR(got.loss, want.loss, kLossTolerance * std::max(1.0, want.loss));
      EXPECT_EQ(got.correct, want.correct);
      EXPECT_EQ(got.count, B);
      // dlogits is (p - onehot) / B: the probability's error, divided by B.
      EXPECT_TRUE(near_relative_to_max(probs, want_probs, kProbabilityTolerance, "probs"));
      EXPECT_TRUE(near_relative_to_max(dlogits, want_dlogits, kProbabilityTolerance, "dlogits"));

      std::vector<float> softmax_probs(logits.size());
      cpu::softmax(logits.data(), softmax_probs.data(), B, C);
      EXPECT_TRUE(near_relative_to_max(softmax_probs, want_probs, kProbabilityTolerance, "softmax"));
    }
  }
}

TEST(CpuSoftmaxXent, IsStableForHugeLogits) {
  const float logits[3 * 3] = {1e4f, -1e4f, 0, -1e4f, -1e4f, -1e4f, 1e4f, 1e4f - 1, -1e4f};
  const uint8_t labels[3] = {1, 2, 0};
  float probs[9], dlogits[9];
  const BatchStats stats = cpu::softmax_xent(logits, labels, probs, dlogits, 3, 3);
  EXPECT_NEAR(stats.loss, (2e4 + std::log(3.0) + std::log1p(std::exp(-1.0))) / 3, 1e-2);
  EXPECT_EQ(stats.correct, 1);
  for (const float p : probs) EXPECT_TRUE(std::isfinite(p));
}

TEST(CpuBackend, TrainingStepsMatchReferenceOnNetworkGrid) {
  CpuBackend backend;
  for (const std::vector<int>& sizes : network_grid())
    for (const int64_t batch : kAwkwardBatches) expect_step_matches_reference(backend, backend, sizes, batch);
}

TEST(CpuBackend, TrainingStepsOnFloatFeaturesMatchReference) {
  CpuBackend backend;
  for (const std::vector<int>& sizes : kFloatFeatureNetworks)
    for (const int64_t batch : kAwkwardBatches)
      expect_step_matches_reference(backend, backend, sizes, batch, 0.0f, InputScale::kNone);
}

TEST(CpuBackend, TrainingStepsMatchReferenceOnANetworkThatIsNotAnMlp) {
  CpuBackend backend;
  for (const int64_t batch : kAwkwardBatches)
    expect_step_matches_reference(backend, backend, network_with_a_linear_hidden_layer(), batch);
}

TEST(CpuBackend, TrainingStepsWithDropoutMatchReferenceOnNetworkGrid) {
  CpuBackend backend;
  for (const std::vector<int>& sizes : network_grid())
    for (const int64_t batch : kAwkwardBatches) expect_step_matches_reference(backend, backend, sizes, batch, 0.3f);
  expect_step_matches_reference(backend, backend, network_with_a_linear_hidden_layer(), 64, 0.5f);
}

TEST(CpuBackend, HundredStepTrainingRunEndsNearReferenceWeights) {
  // 1230 samples in batches of 128: 9 full batches and a partial one of 78 per epoch, 10 epochs.
  const Dataset data = random_dataset(1230, 784, 10, 21);
  TrainOptions options;
  options.epochs = 10;
  options.batch = 128;
  options.lr = 0.1f;
  options.optimizer.momentum = 0.9f;
  const Model start = make_mlp(std::vector<int>{784, 33, 10}, 3);
  auto run = [&](Backend& backend) {
    backend.set_model(start, options.optimizer);
    int64_t steps = 0;
    train(backend, data, nullptr, options, [&](const EpochReport& r) { steps = r.steps; });
    EXPECT_EQ(steps, 100);
    return backend.model();
  };
  ReferenceBackend reference;
  CpuBackend one_thread(1), two_threads(2);
  const Model want = run(reference);
  const Model got_1 = run(one_thread), got_2 = run(two_threads);
  EXPECT_TRUE(models_near(got_1, want, kTrainingRunTolerance, "1 thread vs reference"));
  EXPECT_TRUE(models_near(got_2, want, kTrainingRunTolerance, "2 threads vs reference"));
  EXPECT_TRUE(models_near(got_2, got_1, kTrainingRunTolerance, "2 threads vs 1 thread"));
  // Training moved the weights by far more than the tolerance: the comparison is not vacuous.
  EXPECT_FALSE(models_near(want, start, 100 * kTrainingRunTolerance, "trained vs start"));
}

TEST(CpuBackend, PredictLeavesTheTrainingStepStateAlone) {
  const Dataset data = random_dataset(40, 31, 5, 2);
  CpuBackend backend;
  backend.set_model(make_mlp(std::vector<int>{31, 9, 5}, 4), {});
  backend.set_training_data(data);
  const std::vector<int64_t> indices = {3, 1, 4, 1, 5, 9, 2, 6};
  backend.forward(indices);
  const BatchStats before = backend.loss();
  const std::vector<float> x = random_floats(31 * 20, 0, 1, 5);
  std::vector<float> probs(20 * 5);
  backend.predict(x.data(), 20, probs.data());
  const BatchStats after = backend.loss();  // recomputed from the kept logits
  EXPECT_EQ(before.loss, after.loss);
  EXPECT_EQ(before.correct, after.correct);
}

TEST(CpuBackend, RejectsSampleIndicesOutsideTheTrainingSet) {
  const Dataset data = random_dataset(10, 7, 3, 2);
  CpuBackend backend;
  backend.set_model(make_mlp(std::vector<int>{7, 3}, 4), {});
  backend.set_training_data(data);
  const std::vector<int64_t> indices = {0, 10};
  EXPECT_THROW(backend.forward(indices), Error);
}

TEST(MakeBackend, BuildsTheCpuBackendForCpuAndAutoWithItsThreadCount) {
  const std::unique_ptr<Backend> cpu = make_backend("cpu", {3});
  EXPECT_EQ(cpu->name(), "cpu");
  EXPECT_EQ(dynamic_cast<CpuBackend&>(*cpu).threads(), 3);
  EXPECT_NE(make_backend("auto")->name(), "reference");  // auto takes a fast backend when one is built
  EXPECT_GE(dynamic_cast<CpuBackend&>(*make_backend("cpu")).threads(), 1);  // 0: all cores
  EXPECT_THROW(make_backend("cpu", {-1}), UsageError);
}
