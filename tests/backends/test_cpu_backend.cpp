// The cpu backend against the reference: every op over the awkward shape grid of backend_comparison.h
// (the optimizers' updates: test_optimizers.cpp), whole training steps phase by phase, a 100-step training
// run, and thread counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

#include "backend_comparison.h"
#include "cpu_backend.h"
#include "cpu_op_runner.h"
#include "cpu_ops.h"
#include "cudamlp/errors.h"
#include "cudamlp/rng.h"
#include "cudamlp/trainer.h"
#include "reference_ops.h"
#include "reference_backend.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

// A 100-step training run (momentum 0.9, lr 0.1): every step adds float-vs-double differences of about
// sqrt(K) * eps relative and SGD carries them forward without damping them much. Relative to each
// tensor's largest value the measured difference is below 1e-6 (OpenBLAS, 1 or 2 threads); the bound
// leaves a factor of 10 for other BLAS builds and CPUs.
constexpr double kTrainingRunTolerance = 1e-5;

// The cpu ops as cudamlp verify calls them: the tests below run verify's own op checks (op_checks.h),
// whose tolerances are the error model's (error_model.h).
verify::OpRunner& cpu_ops() {
  static const std::unique_ptr<verify::OpRunner> ops = verify::make_cpu_op_runner();
  return *ops;
}

}  // namespace

TEST(CpuGatherBatch, ScalesPixelsExactlyAsTheReference) {
  for (const int64_t B : kAwkwardBatches) EXPECT_TRUE(all_passed(verify::check_gather_batch(cpu_ops(), B)));
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
  // y and relu(y) within the dot-product bound, and relu(y) never below zero.
  for (const DenseShape& s : dense_shape_grid()) EXPECT_TRUE(all_passed(verify::check_dense_forward(cpu_ops(), s)));
}

TEST(CpuDenseBackwardWeights, MatchesReferenceWeightAndBiasGradientsOnAwkwardShapes) {
  for (const DenseShape& s : dense_shape_grid())
    EXPECT_TRUE(all_passed(verify::check_dense_backward_weights(cpu_ops(), s)));
}

TEST(CpuDenseBackwardInput, MatchesReferenceWithAndWithoutTheReluMaskAndDropoutsScaleOnAwkwardShapes) {
  // dx, masked dx and masked dx times 1 / (1 - 0.3) within the dot-product bound, and exactly zero
  // wherever the ReLU was off (x a ReLU's output, a third of it exactly zero).
  for (const DenseShape& s : dense_shape_grid())
    EXPECT_TRUE(all_passed(verify::check_dense_backward_input(cpu_ops(), s)));
}

TEST(CpuDropoutForward, DrawsTheReferencesMaskOnAwkwardShapes) {
  // The same units dropped, the kept ones scaled within one ulp (kDropoutRelativeTolerance).
  for (const int64_t B : kAwkwardBatches)
    for (const int units : kAwkwardSizes)
      for (const float P : {0.1f, 0.5f, 0.8f})
        ASSERT_TRUE(all_passed(verify::check_dropout_forward(cpu_ops(), B, units, P)));
}

TEST(CpuSoftmaxXent, MatchesReferenceLossProbabilitiesAndGradients) {
  for (const int64_t B : kAwkwardBatches) {
    for (const int C : {1, 7, 10, 31, 33, 127, 129, 256}) {
      EXPECT_TRUE(all_passed(verify::check_softmax_xent(cpu_ops(), B, C)));
      // softmax alone (predict's): the probabilities of softmax_xent.
      SCOPED_TRACE("B=" + std::to_string(B) + " C=" + std::to_string(C));
      const std::vector<float> logits = random_floats(size_t(B * C), -8, 8, uint64_t(B * C));
      std::vector<float> softmax_probs(logits.size()), want_probs(logits.size());
      cpu::softmax(logits.data(), softmax_probs.data(), B, C);
      reference::softmax(logits.data(), want_probs.data(), B, C);
      EXPECT_TRUE(near_relative_to_max(softmax_probs, want_probs, verify::kSoftmaxProbabilityTolerance, "softmax"));
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
