// Every custom CUDA kernel against the reference ops, over awkward shapes (sizes 1, 7, 31, 33, 127, 129,
// 784, 1000; batches 1, 3, 64, 257), through the DeviceOps table. Each test runs twice:
//   Emulated/...  the kernels compiled by g++ and run by the SIMT emulator: always, CI included
//   Gpu/...       the same kernels compiled by nvcc on a real GPU: skipped, with the reason, without one
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>
#include <string>
#include <vector>

#include "cudamlp/gpu_info.h"
#include "cudamlp/rng.h"
#include "device_ops.h"
#include "device_testing.h"
#include "reference_ops.h"
#include "test_helpers.h"

using namespace cudamlp;
using cudamlp::testing::too_slow_under_sanitizer;

namespace {

using cudamlp::testing::DeviceArray;
using cudamlp::testing::dot_tolerance;  // the GEMM tolerance (device_testing.h)

// --- tolerances -------------------------------------------------------------------------------
// Softmax: exp, a division and a K-term sum in float; 8 ulps of slack at probability scale.
constexpr double kProbabilityTolerance = 8 * FLT_EPSILON;
// The unmasked input gradient only drops the epilogue's mask (and the scaled one only multiplies it):
// the shapes up to this many multiply-adds cover them (all but the largest, which the emulator takes a
// minute over under AddressSanitizer).
constexpr int64_t kUnmaskedMaxWork = int64_t(1) << 22;
// Dropout: a kept unit is one float product, value * scale, correctly rounded on every backend; the
// reference rounds the exact (double) product to float, the same number. One ulp of slack all the same.
constexpr double kDropoutRelativeTolerance = FLT_EPSILON;
// Mean loss: float logs of per-row sums, then a double sum: relative error a few ulps of float.
constexpr double kLossRelativeTolerance = 1e-5;

// The awkward shapes: every size appears as an input and an output width, every batch size appears,
// and the biggest (784 -> 1000, batch 257) is included.
struct DenseShape {
  int B, in, out;
};
const std::vector<DenseShape> kDenseShapes = {
    {1, 1, 1},     {3, 7, 31},    {64, 33, 127},  {257, 129, 7},   {1, 784, 1000}, {3, 1000, 784},
    {64, 31, 129}, {257, 127, 33}, {257, 784, 10}, {64, 1, 1000},  {3, 1000, 1},   {257, 1000, 784},
};

std::vector<float> random_floats(size_t n, uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  std::vector<float> values(n);
  for (float& v : values) v = float((2 * rng.uniform() - 1) * scale);
  return values;
}

const GemmEngine kEngines[] = {GemmEngine::kCustom, GemmEngine::kCublas};
std::string engine_name(GemmEngine engine) {
  return engine == GemmEngine::kCustom ? "custom GEMM" : engine == GemmEngine::kCublas ? "cuBLAS" : "cuBLAS TF32";
}

std::string describe(const DenseShape& s) {
  return "B=" + std::to_string(s.B) + " in=" + std::to_string(s.in) + " out=" + std::to_string(s.out);
}

// Which executor a test instance runs on; nullptr DeviceOps means skip with `why_not`.
struct Executor {
  const DeviceOps* ops;
  std::string why_not;
};

Executor emulated() { return {&emulated_ops(), ""}; }
Executor real_gpu() {
  const GpuInfo gpu = query_gpu();
  if (!gpu.usable) return {nullptr, gpu.description};
  return {cuda_ops(), ""};
}

// The test parameter: which executor, by name, so test names stay readable and stable.
struct ExecutorChoice {
  const char* name;  // "simt" or "cuda"
  Executor (*get)();
};
void PrintTo(const ExecutorChoice& choice, std::ostream* out) { *out << choice.name; }

class Kernels : public ::testing::TestWithParam<ExecutorChoice> {
 protected:
  void SetUp() override {
    const Executor executor = GetParam().get();
    if (executor.ops == nullptr) GTEST_SKIP() << "no GPU to run on: " << executor.why_not;
    ops = executor.ops;
  }
  const DeviceOps* ops = nullptr;
};

}  // namespace

TEST_P(Kernels, DenseForwardMatchesReferenceOnAwkwardShapes) {
  for (const DenseShape& s : kDenseShapes) {
    if (too_slow_under_sanitizer(int64_t(s.B) * s.in * s.out)) continue;
    SCOPED_TRACE(describe(s));
    const auto x = random_floats(size_t(s.B) * s.in, 1), W = random_floats(size_t(s.out) * s.in, 2, 0.1),
               b = random_floats(size_t(s.out), 3);
    for (auto [engine, relu] : {std::pair{GemmEngine::kCustom, false}, std::pair{GemmEngine::kCustom, true},
                                std::pair{GemmEngine::kCublas, false}, std::pair{GemmEngine::kCublas, true}}) {
      SCOPED_TRACE(engine_name(engine));
      std::vector<float> expected(size_t(s.B) * s.out);
      reference::dense_forward(x.data(), W.data(), b.data(), expected.data(), s.B, s.in, s.out, relu);
      DeviceArray<float> dx(*ops, x), dW(*ops, W), db(*ops, b), dy(*ops, expected.size());
      ops->dense_forward(dx.get(), dW.get(), db.get(), dy.get(), s.B, s.in, s.out, relu, engine, nullptr);
      const std::vector<float> got = dy.values();
      for (int n = 0; n < s.B; ++n)
        for (int o = 0; o < s.out; ++o) {
          double magnitude = std::abs(b[size_t(o)]);
          for (int i = 0; i < s.in; ++i) magnitude += std::abs(double(x[size_t(n) * s.in + i]) * W[size_t(o) * s.in + i]);
          const size_t k = size_t(n) * s.out + o;
          ASSERT_NEAR(got[k], expected[k], dot_tolerance(s.in, magnitude)) << "y[" << n << "," << o << "] relu=" << relu;
        }
    }
  }
}

TEST_P(Kernels, DenseBackwardInputMatchesReferenceWithAndWithoutTheFusedReluMask) {
  for (const DenseShape& s : kDenseShapes) {
    if (too_slow_under_sanitizer(int64_t(s.B) * s.in * s.out)) continue;
    SCOPED_TRACE(describe(s));
    const auto dy = random_floats(size_t(s.B) * s.out, 4), W = random_floats(size_t(s.out) * s.in, 5, 0.1);
    auto x = random_floats(size_t(s.B) * s.in, 6);  // about half negative: the mask matters
    for (float& v : x) v = v < 0 ? 0.0f : v;         // as a ReLU output: zeros and positives
    // The mask alone, the mask with dropout's scale 1 / (1 - 0.2) (x then is a dropped-out ReLU output),
    // and no mask.
    const struct {
      bool relu_mask;
      float mask_scale;
    } variants[] = {{true, 1.0f}, {true, 1.0f / 0.8f}, {false, 1.0f}};
    for (const auto [relu_mask, mask_scale] : variants) {
      if ((!relu_mask || mask_scale != 1.0f) && int64_t(s.B) * s.in * s.out > kUnmaskedMaxWork) continue;
      for (GemmEngine engine : kEngines) {
        SCOPED_TRACE(engine_name(engine) + (relu_mask ? " with the ReLU mask" : " without a mask") + " scale " +
                     std::to_string(mask_scale));
        std::vector<float> expected(size_t(s.B) * s.in);
        reference::dense_backward_input(dy.data(), W.data(), x.data(), expected.data(), s.B, s.in, s.out, relu_mask,
                                        mask_scale);
        DeviceArray<float> d_dy(*ops, dy), d_W(*ops, W), d_x(*ops, x), d_dx(*ops, expected.size());
        ops->dense_backward_input(d_dy.get(), d_W.get(), d_x.get(), d_dx.get(), s.B, s.in, s.out, relu_mask,
                                  mask_scale, engine, nullptr);
        const std::vector<float> got = d_dx.values();
        for (int n = 0; n < s.B; ++n)
          for (int i = 0; i < s.in; ++i) {
            double magnitude = 0;
            for (int o = 0; o < s.out; ++o)
              magnitude += mask_scale * std::abs(double(dy[size_t(n) * s.out + o]) * W[size_t(o) * s.in + i]);
            const size_t k = size_t(n) * s.in + i;
            ASSERT_NEAR(got[k], expected[k], dot_tolerance(s.out, magnitude)) << "dx[" << n << "," << i << "]";
          }
      }
    }
  }
}

TEST_P(Kernels, DenseBackwardWeightsMatchesReferenceOnAwkwardShapes) {
  for (const DenseShape& s : kDenseShapes) {
    if (too_slow_under_sanitizer(int64_t(s.B) * s.in * s.out)) continue;
    SCOPED_TRACE(describe(s));
    const auto dy = random_floats(size_t(s.B) * s.out, 7), x = random_floats(size_t(s.B) * s.in, 8);
    std::vector<float> dW(size_t(s.out) * s.in), db(size_t(s.out));
    reference::dense_backward_weights(dy.data(), x.data(), dW.data(), db.data(), s.B, s.in, s.out);
    for (GemmEngine engine : kEngines) {
      SCOPED_TRACE(engine_name(engine));
      DeviceArray<float> d_dy(*ops, dy), d_x(*ops, x), d_dW(*ops, dW.size()), d_db(*ops, db.size());
      ops->dense_backward_weights(d_dy.get(), d_x.get(), d_dW.get(), d_db.get(), s.B, s.in, s.out, engine, nullptr);
      const std::vector<float> got_dW = d_dW.values(), got_db = d_db.values();
      for (int o = 0; o < s.out; ++o) {
        double bias_magnitude = 0;
        for (int n = 0; n < s.B; ++n) bias_magnitude += std::abs(dy[size_t(n) * s.out + o]);
        ASSERT_NEAR(got_db[size_t(o)], db[size_t(o)], dot_tolerance(s.B, bias_magnitude)) << "db[" << o << "]";
        for (int i = 0; i < s.in; ++i) {
          double magnitude = 0;
          for (int n = 0; n < s.B; ++n) magnitude += std::abs(double(dy[size_t(n) * s.out + o]) * x[size_t(n) * s.in + i]);
          const size_t k = size_t(o) * s.in + i;
          ASSERT_NEAR(got_dW[k], dW[k], dot_tolerance(s.B, magnitude)) << "dW[" << o << "," << i << "]";
        }
      }
    }
  }
}

TEST_P(Kernels, SoftmaxXentMatchesReferenceAndIsStableForHugeLogits) {
  struct Case {
    int B, C;
    double scale;
  };
  for (const Case& c : {Case{1, 1, 1.0}, Case{3, 10, 1.0}, Case{64, 10, 30.0}, Case{257, 33, 5.0},
                        Case{257, 10, 1e4}, Case{5, 129, 3.0}, Case{1000, 7, 2.0}, Case{3000, 10, 3.0},
                        Case{40, 32, 2.0}, Case{2100, 33, 2.0}}) {
    SCOPED_TRACE("B=" + std::to_string(c.B) + " C=" + std::to_string(c.C) + " scale=" + std::to_string(c.scale));
    const auto logits = random_floats(size_t(c.B) * c.C, 9, c.scale);
    std::vector<uint8_t> labels(size_t(c.B));
    Rng rng(10);
    for (uint8_t& label : labels) label = uint8_t(rng.below(uint64_t(c.C)));
    std::vector<float> probs(logits.size()), dlogits(logits.size());
    const BatchStats expected = reference::softmax_xent(logits.data(), labels.data(), probs.data(), dlogits.data(), c.B, c.C);

    DeviceArray<float> d_logits(*ops, logits), d_probs(*ops, logits.size()), d_dlogits(*ops, logits.size()), d_loss(*ops, 1);
    DeviceArray<uint8_t> d_labels(*ops, labels);
    DeviceArray<int> d_correct(*ops, 1);
    ops->softmax_xent(d_logits.get(), d_labels.get(), d_probs.get(), d_dlogits.get(), d_loss.get(), d_correct.get(), c.B,
                      c.C, nullptr);
    const auto got_probs = d_probs.values(), got_dlogits = d_dlogits.values();
    for (size_t k = 0; k < probs.size(); ++k) {
      ASSERT_NEAR(got_probs[k], probs[k], kProbabilityTolerance) << "probs[" << k << "]";
      ASSERT_NEAR(got_dlogits[k], dlogits[k], kProbabilityTolerance / c.B) << "dlogits[" << k << "]";
    }
    EXPECT_NEAR(d_loss.values()[0], expected.loss, kLossRelativeTolerance * std::max(1.0, expected.loss));
    EXPECT_EQ(d_correct.values()[0], expected.correct);

    // Inference form: no labels, probabilities only.
    DeviceArray<float> d_probs_only(*ops, logits.size());
    ops->softmax_xent(d_logits.get(), nullptr, d_probs_only.get(), nullptr, nullptr, nullptr, c.B, c.C, nullptr);
    const auto got_only = d_probs_only.values();
    for (size_t k = 0; k < probs.size(); ++k) ASSERT_NEAR(got_only[k], probs[k], kProbabilityTolerance);
  }
}

TEST_P(Kernels, SoftmaxXentCountsTiesAsTheFirstLargestLogit) {
  const std::vector<float> logits = {2, 2, 1, 0, 5, 5};  // rows: tie (0, 1) labelled 1; tie (1, 2) labelled 1
  const std::vector<uint8_t> labels = {1, 1};
  DeviceArray<float> d_logits(*ops, logits), d_probs(*ops, 6), d_dlogits(*ops, 6), d_loss(*ops, 1);
  DeviceArray<uint8_t> d_labels(*ops, labels);
  DeviceArray<int> d_correct(*ops, 1);
  ops->softmax_xent(d_logits.get(), d_labels.get(), d_probs.get(), d_dlogits.get(), d_loss.get(), d_correct.get(), 2, 3,
                    nullptr);
  EXPECT_EQ(d_correct.values()[0], 1);  // row 0 picks class 0 (wrong), row 1 picks class 1 (right)
}

TEST_P(Kernels, GatherBatchScalesPixelsExactlyLikeTheHost) {
  constexpr int N = 50, D = 784;
  Dataset data;
  data.count = N;
  data.rows = 28;
  data.cols = 28;
  Rng rng(14);
  data.pixels.resize(size_t(N) * D);
  for (uint8_t& p : data.pixels) p = uint8_t(rng.below(256));
  data.labels.resize(N);
  for (uint8_t& label : data.labels) label = uint8_t(rng.below(10));
  for (const std::vector<int64_t>& indices : {std::vector<int64_t>{0}, std::vector<int64_t>{49, 3, 3, 17, 0, 48, 25}}) {
    const int B = int(indices.size());
    std::vector<float> expected(size_t(B) * D);
    std::vector<uint8_t> expected_labels(static_cast<size_t>(B));
    reference::gather_batch(data, indices, expected.data(), expected_labels.data());
    DeviceArray<uint8_t> d_pixels(*ops, data.pixels), d_labels(*ops, data.labels), d_batch_labels(*ops, size_t(B));
    DeviceArray<int64_t> d_indices(*ops, indices);
    DeviceArray<float> d_x(*ops, size_t(B) * D);
    ops->gather_batch(d_pixels.get(), InputScale::kPixel255, d_labels.get(), d_indices.get(), nullptr, B, D, d_x.get(),
                      d_batch_labels.get(), nullptr);
    EXPECT_EQ(d_x.values(), expected);  // bitwise: both compute float(pixel) / 255.0f
    EXPECT_EQ(d_batch_labels.values(), expected_labels);

    // With a device-side cursor the batch starts `cursor` entries into the order.
    std::vector<int64_t> shifted = {13, 14, 15};
    shifted.insert(shifted.end(), indices.begin(), indices.end());
    DeviceArray<int64_t> d_shifted(*ops, shifted);
    DeviceArray<long long> d_cursor(*ops, std::vector<long long>{3});
    ops->gather_batch(d_pixels.get(), InputScale::kPixel255, d_labels.get(), d_shifted.get(), d_cursor.get(), B, D,
                      d_x.get(), d_batch_labels.get(), nullptr);
    EXPECT_EQ(d_x.values(), expected);
    EXPECT_EQ(d_batch_labels.values(), expected_labels);
  }
}

TEST_P(Kernels, GatherBatchCopiesFloatFeaturesAsTheyAre) {
  constexpr int N = 9;
  for (const int D : {1, 2, 3, 257}) {  // one value, two, odd, and one past a block of 256 threads
    Rng rng{uint64_t(D)};
    std::vector<float> features(size_t(N) * D);
    for (float& v : features) v = float(100.0 * rng.uniform() - 50.0);
    std::vector<uint8_t> labels(N);
    for (uint8_t& label : labels) label = uint8_t(rng.below(3));
    const Dataset data = float_dataset(features, N, D, labels, 3);
    const std::vector<int64_t> order = {8, 0, 4, 4, 1};
    const int B = int(order.size());
    std::vector<float> expected(size_t(B) * D);
    std::vector<uint8_t> expected_labels(static_cast<size_t>(B));
    reference::gather_batch(data, order, expected.data(), expected_labels.data());
    DeviceArray<float> d_features(*ops, data.features), d_x(*ops, size_t(B) * D);
    DeviceArray<uint8_t> d_labels(*ops, data.labels), d_batch_labels(*ops, size_t(B));
    DeviceArray<int64_t> d_indices(*ops, order);
    ops->gather_batch(d_features.get(), InputScale::kNone, d_labels.get(), d_indices.get(), nullptr, B, D, d_x.get(),
                      d_batch_labels.get(), nullptr);
    EXPECT_EQ(d_x.values(), expected) << "D = " << D;  // bitwise: a copy
    EXPECT_EQ(d_batch_labels.values(), expected_labels) << "D = " << D;
  }
}

TEST_P(Kernels, CublasTf32IsOptInAndWithinTf32Rounding) {
  // TF32 rounds inputs to 10 mantissa bits: each product is off by up to 2 * 2^-11 relative, so the
  // bound is that times the magnitude plus the FP32 summation bound. Default math must stay exact FP32.
  const DenseShape s{64, 784, 129};
  const auto x = random_floats(size_t(s.B) * s.in, 1), W = random_floats(size_t(s.out) * s.in, 2, 0.1),
             b = random_floats(size_t(s.out), 3);
  std::vector<float> expected(size_t(s.B) * s.out);
  reference::dense_forward(x.data(), W.data(), b.data(), expected.data(), s.B, s.in, s.out, false);
  DeviceArray<float> dx(*ops, x), dW(*ops, W), db(*ops, b), y_tf32(*ops, expected.size()), y_fp32(*ops, expected.size());
  ops->dense_forward(dx.get(), dW.get(), db.get(), y_tf32.get(), s.B, s.in, s.out, false, GemmEngine::kCublasTf32, nullptr);
  ops->dense_forward(dx.get(), dW.get(), db.get(), y_fp32.get(), s.B, s.in, s.out, false, GemmEngine::kCublas, nullptr);
  const auto tf32 = y_tf32.values(), fp32 = y_fp32.values();
  EXPECT_NE(tf32, fp32) << "TF32 math changed nothing";
  for (int n = 0; n < s.B; ++n)
    for (int o = 0; o < s.out; ++o) {
      double magnitude = 0;
      for (int i = 0; i < s.in; ++i) magnitude += std::abs(double(x[size_t(n) * s.in + i]) * W[size_t(o) * s.in + i]);
      const size_t k = size_t(n) * s.out + o;
      ASSERT_NEAR(tf32[k], expected[k], 2 * std::ldexp(1.0, -11) * magnitude + dot_tolerance(s.in, magnitude + std::abs(b[size_t(o)])));
    }
}

TEST_P(Kernels, EpochOrderOnTheDeviceIsTheHostsShuffle) {
  for (int64_t n : {int64_t{1}, int64_t{2}, int64_t{1000}, int64_t{60000}}) {
    DeviceArray<int64_t> order(*ops, size_t(n));
    DeviceArray<uint64_t> keys(*ops, size_t(n));
    ops->epoch_order(order.get(), keys.get(), n, derive_seed(7, 1 + 4), true, nullptr);
    EXPECT_EQ(order.values(), shuffled_indices(n, 7, 4)) << "n=" << n;
    ops->epoch_order(order.get(), keys.get(), n, derive_seed(7, 1 + 4), false, nullptr);
    std::vector<int64_t> in_order(static_cast<size_t>(n));
    std::iota(in_order.begin(), in_order.end(), int64_t{0});
    EXPECT_EQ(order.values(), in_order) << "n=" << n;
  }
}

TEST_P(Kernels, AccumulateMetricsAddsBatchesOnTheDevice) {
  DeviceArray<EpochTotals> totals(*ops, std::vector<EpochTotals>{{0.0, 0, 0, 10}});
  DeviceArray<float> loss(*ops, std::vector<float>{0.5f});
  DeviceArray<int> correct(*ops, std::vector<int>{3});
  ops->accumulate_metrics(loss.get(), correct.get(), 4, 4, totals.get(), nullptr);
  ops->accumulate_metrics(loss.get(), correct.get(), 2, 2, totals.get(), nullptr);
  const EpochTotals got = totals.values()[0];
  EXPECT_EQ(got.loss_sum, 3.0);
  EXPECT_EQ(got.correct, 6);
  EXPECT_EQ(got.count, 6);
  EXPECT_EQ(got.cursor, 16);
}

TEST_P(Kernels, SetCursorMovesOnlyTheCursor) {
  DeviceArray<EpochTotals> totals(*ops, std::vector<EpochTotals>{{2.5, 3, 4, 64}});
  ops->set_cursor(totals.get(), 7, nullptr);
  const EpochTotals got = totals.values()[0];
  EXPECT_EQ(got.cursor, 7);
  EXPECT_EQ(got.loss_sum, 2.5);
  EXPECT_EQ(got.correct, 3);
  EXPECT_EQ(got.count, 4);
}

TEST_P(Kernels, AccumulateMetricsOfAShardAdvancesByTheGlobalBatch) {
  DeviceArray<EpochTotals> totals(*ops, std::vector<EpochTotals>{{0.0, 0, 0, 0}});
  DeviceArray<float> loss(*ops, std::vector<float>{0.25f});
  DeviceArray<int> correct(*ops, std::vector<int>{1});
  ops->accumulate_metrics(loss.get(), correct.get(), 3, 7, totals.get(), nullptr);  // 3 of a batch of 7
  DeviceArray<float> nan_loss(*ops, std::vector<float>{std::numeric_limits<float>::quiet_NaN()});
  ops->accumulate_metrics(nan_loss.get(), correct.get(), 0, 2, totals.get(), nullptr);  // an empty shard
  const EpochTotals got = totals.values()[0];
  EXPECT_EQ(got.loss_sum, 0.75);
  EXPECT_EQ(got.correct, 1);
  EXPECT_EQ(got.count, 3);
  EXPECT_EQ(got.cursor, 9);
}

// The mask is the reference's unit for unit: the same zeros, the same scaled values, with the step read
// from device memory and the rows' positions from the device cursor plus an offset (a rank's shard).
TEST_P(Kernels, DropoutForwardDrawsTheReferencesMaskOnAwkwardShapes) {
  struct Shape {
    int B, units;
  };
  const Shape shapes[] = {{1, 1}, {3, 7}, {257, 129}, {5, 1000}, {64, 33}};
  const uint64_t seed = 7;
  const int layer = 1;
  const StepValues step{0.1f, 12345, 3};
  const long long cursor = 1000;
  const int64_t offset = 17;
  for (const Shape& shape : shapes)
    for (const float P : {0.2f, 0.5f, 0.9f}) {
      SCOPED_TRACE("B=" + std::to_string(shape.B) + " units=" + std::to_string(shape.units) + " P=" + std::to_string(P));
      // Positive values, as a ReLU's survivors: every zero afterwards is dropout's.
      std::vector<float> y = random_floats(size_t(shape.B) * shape.units, 8);
      for (float& v : y) v = std::abs(v) + 0.01f;
      std::vector<float> expected = y;
      reference::dropout_forward(expected.data(), shape.B, shape.units, P, seed, step.step, cursor + offset, layer);
      DeviceArray<float> d_y(*ops, y);
      DeviceArray<StepValues> d_step(*ops, std::vector<StepValues>{step});
      DeviceArray<EpochTotals> totals(*ops, std::vector<EpochTotals>{{0.0, 0, 0, cursor}});
      ops->dropout_forward(d_y.get(), shape.B, shape.units, P, seed, layer, d_step.get(), &totals.get()->cursor, offset,
                           nullptr);
      const std::vector<float> got = d_y.values();
      for (size_t k = 0; k < got.size(); ++k) {
        ASSERT_EQ(got[k] == 0.0f, expected[k] == 0.0f) << "unit " << k << " dropped on one side only";
        ASSERT_NEAR(got[k], expected[k], kDropoutRelativeTolerance * std::abs(expected[k])) << "unit " << k;
      }
    }
}

INSTANTIATE_TEST_SUITE_P(Emulated, Kernels, ::testing::Values(ExecutorChoice{"simt", &emulated}),
                         [](const auto& choice) { return std::string(choice.param.name); });
INSTANTIATE_TEST_SUITE_P(Gpu, Kernels, ::testing::Values(ExecutorChoice{"cuda", &real_gpu}),
                         [](const auto& choice) { return std::string(choice.param.name); });
