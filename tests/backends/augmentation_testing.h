// What the augmentation tests share (test_augmentation.cpp, test_cpu_augmentation.cpp): image data,
// the cases of distortions and shapes each backend is compared on, the interpolation tolerance, and an
// ASCII picture of an image for failure messages (the sanity check to eyeball).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "cudamlp/dataset.h"
#include "cudamlp/regularization.h"
#include "cudamlp/trainer.h"
#include "cudamlp/rng.h"
#include "error_model.h"
#include "op_checks.h"

namespace cudamlp::testing {

// The interpolation tolerance, the image data and the cases are cudamlp verify's (op_checks.h,
// error_model.h): the tests and the command compare the same.
using verify::AugmentationCase;
using verify::augmentation_cases;
using verify::every_distortion;
using verify::image_dataset;
using verify::kInterpolationTolerance;
// Trained weights after a few augmented steps: the inputs differ by kInterpolationTolerance at most and
// float sums drift as in the plain runs (kTrainingTolerance there, 5e-4).
inline constexpr double kAugmentedTrainingTolerance = 1e-3;

// An image [rows, cols] of values in [0, 1] as ASCII art, one character per pixel.
inline std::string ascii_image(const float* image, int rows, int cols) {
  const char* ramp = " .:-=+*#%@";
  std::string text;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) text += ramp[std::clamp(int(image[r * cols + c] * 9.999f), 0, 9)];
    text += '\n';
  }
  return text;
}

// Passes when every pixel of the batches [B, rows * cols] agrees within kInterpolationTolerance;
// otherwise names the case and the first bad pixel and draws both images of that sample.
inline ::testing::AssertionResult images_near(std::span<const float> actual, std::span<const float> expected,
                                              int rows, int cols, const std::string& what) {
  if (actual.size() != expected.size()) return ::testing::AssertionFailure() << what << ": sizes differ";
  const size_t D = size_t(rows * cols);
  for (size_t i = 0; i < actual.size(); ++i)
    if (!(std::abs(double(actual[i]) - expected[i]) <= kInterpolationTolerance)) {
      const size_t n = i / D;
      return ::testing::AssertionFailure()
             << what << ": sample " << n << " pixel (" << (i % D) / size_t(cols) << ", " << (i % D) % size_t(cols)
             << ") is " << actual[i] << ", the reference " << expected[i] << "\nbackend:\n"
             << ascii_image(actual.data() + n * D, rows, cols) << "reference:\n"
             << ascii_image(expected.data() + n * D, rows, cols);
    }
  return ::testing::AssertionSuccess();
}

// Two epochs of batch 7 with every distortion, momentum and seed 3, for images [rows, cols].
inline TrainOptions augmented_run_options(int rows, int cols) {
  TrainOptions options;
  options.epochs = 2;
  options.batch = 7;
  options.lr = 0.1f;
  options.optimizer.momentum = 0.9f;
  options.seed = 3;
  options.regularization.augmentation = every_distortion(rows, cols);
  return options;
}

}  // namespace cudamlp::testing
