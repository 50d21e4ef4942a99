// The cpu backend's augmentation (cpu::augment_batch, in float, OpenMP over samples) against the
// reference's double computation on awkward image shapes and batches, at 1 and several threads, and
// whole augmented training runs against the reference. See test_augmentation.cpp for the reference's
// own properties and the GPU kernel.
#include <gtest/gtest.h>

#include <vector>

#include "augmentation_testing.h"
#include "backend_comparison.h"
#include "cpu_backend.h"
#include "blas.h"
#include "cpu_ops.h"
#include "cudamlp/trainer.h"
#include "reference_backend.h"
#include "reference_ops.h"

using namespace cudamlp;
using namespace cudamlp::testing;

TEST(CpuAugmentBatch, MatchesReferenceWithinInterpolationToleranceOnAwkwardShapes) {
  for (const int threads : {1, 3}) {
    cpu::set_threads(threads);
    for (const AugmentationCase& c : augmentation_cases()) {
      const Dataset data = image_dataset(9, c.augmentation.rows, c.augmentation.cols, 7);
      const size_t D = size_t(c.augmentation.rows * c.augmentation.cols), B = c.indices.size();
      std::vector<float> expected(B * D), actual(B * D), scratch(4 * B * D);
      std::vector<uint8_t> expected_labels(B), labels(B);
      reference::augment_batch(data, c.indices, c.augmentation, 11, c.epoch, expected.data(), expected_labels.data());
      cpu::augment_batch(data, c.indices, c.augmentation, 11, c.epoch, scratch.data(), actual.data(), labels.data());
      EXPECT_TRUE(images_near(actual, expected, c.augmentation.rows, c.augmentation.cols,
                              c.name + " on " + std::to_string(threads) + " threads"));
      EXPECT_EQ(labels, expected_labels) << c.name;
    }
  }
}

TEST(CpuAugmentBatch, ADigitSizedBatchIsTheSameOnAnyThreadCount) {
  const Dataset data = image_dataset(64, 28, 28, 8);
  std::vector<int64_t> indices(64);
  for (int64_t i = 0; i < 64; ++i) indices[size_t(i)] = (i * 37) % 64;
  const Augmentation a = every_distortion(28, 28);
  std::vector<float> scratch(4 * 64 * 784), one(64 * 784), many(64 * 784);
  std::vector<uint8_t> labels(64);
  cpu::set_threads(1);
  cpu::augment_batch(data, indices, a, 5, 2, scratch.data(), one.data(), labels.data());
  cpu::set_threads(4);
  cpu::augment_batch(data, indices, a, 5, 2, scratch.data(), many.data(), labels.data());
  EXPECT_EQ(one, many);
}

TEST(AugmentedTraining, CpuMatchesReference) {
  const Dataset data = image_dataset(23, 5, 7, 13);  // 23 = 3 batches of 7 + 2
  const TrainOptions options = augmented_run_options(5, 7);
  const Model model = make_mlp(std::vector<int>{35, 9, 4}, options.seed);
  CpuBackend cpu(2);
  ReferenceBackend reference;
  for (Backend* b : {static_cast<Backend*>(&cpu), static_cast<Backend*>(&reference)}) {
    b->set_model(model, options.optimizer);
    train(*b, data, nullptr, options, [](const EpochReport&) {});
  }
  EXPECT_TRUE(models_near(cpu.model(), reference.model(), kAugmentedTrainingTolerance, "cpu vs reference"));
}
