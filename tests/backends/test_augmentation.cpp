// Augmentation (regularization.h): the reference's map checked for its properties (identity, exact
// integer shifts, a 180-degree turn, fresh draws per epoch, pure in (seed, epoch, sample)), the GPU
// kernel (emulated, and on a GPU when there is one) against the reference's double computation on
// awkward image shapes and batches, and whole training runs with augmentation on gpu-emulated against
// the reference. The cpu backend's twin tests are in test_cpu_augmentation.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "augmentation_testing.h"
#include "backend_comparison.h"
#include "cudamlp/gpu_info.h"
#include "cudamlp/trainer.h"
#include "device_testing.h"
#include "gpu_backend.h"
#include "reference_backend.h"
#include "reference_ops.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

// The reference's own exactness where the map is exact: its interpolation weights are 0 and 1, so it
// returns double(pixel) / 255 rounded to float, which is at most half an ulp from float(pixel) / 255.0f.
constexpr double kExactMapTolerance = 1e-7;
// A 180-degree turn: sin(pi) is 1.2e-16 in double, so the source is off its pixel by ~1e-15.
constexpr double kTurnTolerance = 1e-6;

std::vector<float> reference_image(const uint8_t* image, int rows, int cols, const reference::AugmentDraws& d,
                                   double alpha_field = 0.0) {
  std::vector<double> ex(size_t(rows * cols), alpha_field), ey(size_t(rows * cols), 0.0);
  std::vector<float> out(size_t(rows * cols));
  reference::augment_image(image, rows, cols, d, ex.data(), ey.data(), out.data());
  return out;
}

}  // namespace

TEST(AugmentationReference, TheIdentityMapIsThePlainGather) {
  const Dataset data = image_dataset(1, 5, 7, 1);
  const std::vector<float> out = reference_image(data.pixels.data(), 5, 7, {});
  for (int p = 0; p < 35; ++p) ASSERT_NEAR(out[size_t(p)], scale_pixel(data.pixels[size_t(p)]), kExactMapTolerance) << p;
}

TEST(AugmentationReference, NoDistortionGathersBitwiseLikeThePlainGather) {
  const Dataset data = image_dataset(6, 5, 7, 2);
  ReferenceBackend plain, augmented;
  const Model model = make_mlp(std::vector<int>{35, 3}, 1);
  for (ReferenceBackend* b : {&plain, &augmented}) {
    b->set_model(model, OptimizerConfig{});
    b->set_training_data(data);
  }
  Regularization none;
  none.augmentation.rows = 5;
  none.augmentation.cols = 7;  // a shape alone distorts nothing
  augmented.set_regularization(none);
  const std::vector<int64_t> indices = {5, 0, 3};
  plain.forward(indices);
  augmented.forward(indices);
  EXPECT_EQ(plain.loss().loss, augmented.loss().loss);
  plain.backward();
  augmented.backward();
  EXPECT_EQ(plain.gradients(), augmented.gradients());
}

TEST(AugmentationReference, AnIntegerShiftMovesTheImageExactly) {
  const int rows = 5, cols = 7;
  const Dataset data = image_dataset(1, rows, cols, 3);
  reference::AugmentDraws d;
  d.shift_x = 2;
  d.shift_y = -1;
  const std::vector<float> out = reference_image(data.pixels.data(), rows, cols, d);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const int sr = r - 1, sc = c + 2;  // the source of (r, c)
      const float want = sr >= 0 && sr < rows && sc < cols ? scale_pixel(data.pixels[size_t(sr * cols + sc)]) : 0.0f;
      ASSERT_NEAR(out[size_t(r * cols + c)], want, kExactMapTolerance)
          << "at (" << r << ", " << c << ")\n" << ascii_image(out.data(), rows, cols);
    }
}

TEST(AugmentationReference, RotationBy180DegreesFlipsTheImage) {
  for (const auto& [rows, cols] : {std::pair{5, 7}, std::pair{28, 28}, std::pair{1, 1}}) {
    const Dataset data = image_dataset(1, rows, cols, 4);
    reference::AugmentDraws d;
    d.angle = 3.14159265358979323846;
    const std::vector<float> out = reference_image(data.pixels.data(), rows, cols, d);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c)
        ASSERT_NEAR(out[size_t(r * cols + c)], scale_pixel(data.pixels[size_t((rows - 1 - r) * cols + cols - 1 - c)]),
                    kTurnTolerance)
            << rows << "x" << cols << " at (" << r << ", " << c << ")";
  }
}

TEST(AugmentationReference, ElasticWithAlphaZeroIsTheIdentity) {
  Augmentation a;
  a.rows = 5;
  a.cols = 7;
  a.elastic_alpha = 0;
  a.elastic_sigma = 4;
  std::vector<double> ex(35, 1.0), ey(35, 1.0);
  reference::elastic_field(a, 1, 0, 0, ex.data(), ey.data());
  for (int p = 0; p < 35; ++p) ASSERT_EQ(ex[size_t(p)], 0.0) << p;
  for (int p = 0; p < 35; ++p) ASSERT_EQ(ey[size_t(p)], 0.0) << p;
  // and a field of alpha 34 moves pixels by a few of them, smoothly: neighbours differ far less than alpha
  a.elastic_alpha = 34;
  reference::elastic_field(a, 1, 0, 0, ex.data(), ey.data());
  double largest = 0;
  for (double v : ex) largest = std::max(largest, std::abs(v));
  EXPECT_GT(largest, 0.1);
  EXPECT_LT(largest, 34.0);
}

TEST(AugmentationReference, DrawsAfreshEveryEpochAndTheSameForTheSameCounters) {
  const Dataset data = image_dataset(4, 28, 28, 5);
  const Augmentation a = every_distortion(28, 28);
  const std::vector<int64_t> indices = {2, 0};
  const auto batch = [&](uint64_t seed, int64_t epoch, std::span<const int64_t> which) {
    std::vector<float> x(which.size() * 784);
    std::vector<uint8_t> labels(which.size());
    reference::augment_batch(data, which, a, seed, epoch, x.data(), labels.data());
    return x;
  };
  EXPECT_EQ(batch(1, 0, indices), batch(1, 0, indices));
  EXPECT_NE(batch(1, 0, indices), batch(1, 1, indices)) << "the same distortion in the next epoch";
  EXPECT_NE(batch(1, 0, indices), batch(2, 0, indices)) << "the same distortion under another seed";
  // A sample's distortion depends on its index in the training set, not its place in the batch.
  const std::vector<int64_t> swapped = {0, 2};
  const std::vector<float> x = batch(1, 0, indices), y = batch(1, 0, swapped);
  EXPECT_TRUE(std::equal(x.begin(), x.begin() + 784, y.begin() + 784));
}

// ------------------------------------------------------------------------------------------------
// The GPU kernel against the reference

class AugmentKernel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "emulated") {
      ops = &emulated_ops();
      return;
    }
    const GpuInfo gpu = query_gpu();
    if (!gpu.usable) GTEST_SKIP() << "no GPU to run on: " << gpu.description;
    ops = cuda_ops();
  }
  const DeviceOps* ops = nullptr;
};

TEST_P(AugmentKernel, MatchesReferenceWithinInterpolationToleranceOnAwkwardShapes) {
  for (const AugmentationCase& c : augmentation_cases()) {
    const Dataset data = image_dataset(9, c.augmentation.rows, c.augmentation.cols, 7);
    const int D = c.augmentation.rows * c.augmentation.cols;
    const int B = int(c.indices.size());
    std::vector<float> expected(static_cast<size_t>(B * D));
    std::vector<uint8_t> expected_labels(static_cast<size_t>(B));
    reference::augment_batch(data, c.indices, c.augmentation, 11, c.epoch, expected.data(), expected_labels.data());
    // The batch starts 2 entries into the order, as when the device's cursor is 2.
    std::vector<int64_t> order = {8, 8};
    order.insert(order.end(), c.indices.begin(), c.indices.end());
    DeviceArray<uint8_t> d_pixels(*ops, data.pixels), d_labels(*ops, data.labels), d_batch_labels(*ops, size_t(B));
    DeviceArray<int64_t> d_order(*ops, order);
    DeviceArray<long long> d_cursor(*ops, std::vector<long long>{2});
    DeviceArray<StepValues> d_step(*ops, std::vector<StepValues>{StepValues{0.1f, 5, c.epoch}});
    DeviceArray<float> d_scratch(*ops, size_t(2 * B * D)), d_x(*ops, size_t(B * D));
    ops->augment_batch(d_pixels.get(), d_labels.get(), d_order.get(), d_cursor.get(), B, c.augmentation, 11,
                       d_step.get(), d_scratch.get(), d_x.get(), d_batch_labels.get(), nullptr);
    EXPECT_TRUE(images_near(d_x.values(), expected, c.augmentation.rows, c.augmentation.cols, c.name));
    EXPECT_EQ(d_batch_labels.values(), expected_labels) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Executors, AugmentKernel, ::testing::Values("emulated", "cuda"));

// ------------------------------------------------------------------------------------------------
// Whole runs through the trainer

TEST(AugmentedTraining, GpuEmulatedMatchesReference) {
  const Dataset data = image_dataset(23, 5, 7, 13);  // 23 = 3 batches of 7 + 2
  TrainOptions options = augmented_run_options(5, 7);
  const Model model = make_mlp(std::vector<int>{35, 9, 4}, options.seed);
  GpuBackend gpu(emulated_ops(), GemmEngine::kCustom);
  ReferenceBackend reference;
  for (Backend* b : {static_cast<Backend*>(&gpu), static_cast<Backend*>(&reference)}) {
    b->set_model(model, options.optimizer);
    train(*b, data, nullptr, options, [](const EpochReport&) {});
  }
  EXPECT_TRUE(models_near(gpu.model(), reference.model(), kAugmentedTrainingTolerance, "gpu-emulated vs reference"));
  // and the distortion changed the run
  ReferenceBackend plain;
  TrainOptions no_augmentation = options;
  no_augmentation.regularization = Regularization{};
  plain.set_model(model, options.optimizer);
  train(plain, data, nullptr, no_augmentation, [](const EpochReport&) {});
  EXPECT_FALSE(models_near(plain.model(), reference.model(), kAugmentedTrainingTolerance, "plain vs augmented"));
}
