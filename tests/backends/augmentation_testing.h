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

namespace cudamlp::testing {

// Backends compute the map in float, the reference in double. The source position is off by a few
// float ulps of its coordinates (<= 28 + shift + alpha: ~1e-5 pixels), and bilinear interpolation of
// values in [0, 1] moves by at most that distance times the largest step between neighbours (1), so
// 1e-4 bounds every correct backend while a wrong draw, axis or centre moves pixels by ~0.1 or more.
inline constexpr double kInterpolationTolerance = 1e-4;
// Trained weights after a few augmented steps: the inputs differ by kInterpolationTolerance at most and
// float sums drift as in the plain runs (kTrainingTolerance there, 5e-4).
inline constexpr double kAugmentedTrainingTolerance = 1e-3;

// n images [rows, cols] of random pixels, with a bright blob so that distortions show; 4 classes.
inline Dataset image_dataset(int64_t n, int rows, int cols, uint64_t seed) {
  Dataset data;
  data.count = n;
  data.rows = rows;
  data.cols = cols;
  data.num_classes = 4;
  Rng rng(seed);
  data.pixels.resize(size_t(n * rows * cols));
  for (uint8_t& p : data.pixels) p = uint8_t(rng.below(256));
  data.labels.resize(size_t(n));
  for (uint8_t& label : data.labels) label = uint8_t(rng.below(4));
  return data;
}

inline Augmentation every_distortion(int rows, int cols) {
  Augmentation a;
  a.rows = rows;
  a.cols = cols;
  a.rotate_degrees = 30;
  a.scale = 0.3f;
  a.shear = 0.4f;
  a.shift = 3;
  a.elastic_alpha = 34;
  a.elastic_sigma = 4;
  return a;
}

struct AugmentationCase {
  std::string name;
  Augmentation augmentation;
  std::vector<int64_t> indices;
  int64_t epoch;
};

// Each distortion alone and all together, on 1x1, 5x7 and 28x28, batches of 1, 3 and 5.
inline std::vector<AugmentationCase> augmentation_cases() {
  std::vector<AugmentationCase> cases;
  const std::vector<std::vector<int64_t>> batches = {{4}, {0, 8, 3}, {1, 2, 5, 7, 6}};
  int which = 0;
  for (const auto& [rows, cols] : {std::pair{1, 1}, std::pair{5, 7}, std::pair{28, 28}}) {
    const Augmentation all = every_distortion(rows, cols);
    std::vector<std::pair<std::string, Augmentation>> kinds(6, {"", Augmentation{}});
    for (auto& kind : kinds) kind.second.rows = rows, kind.second.cols = cols;
    kinds[0].first = "rotate", kinds[0].second.rotate_degrees = all.rotate_degrees;
    kinds[1].first = "scale", kinds[1].second.scale = all.scale;
    kinds[2].first = "shear", kinds[2].second.shear = all.shear;
    kinds[3].first = "shift", kinds[3].second.shift = all.shift;
    kinds[4].first = "elastic", kinds[4].second.elastic_alpha = all.elastic_alpha;
    kinds[4].second.elastic_sigma = all.elastic_sigma;
    kinds[5] = {"all", all};
    for (const auto& [kind, a] : kinds) {
      const std::vector<int64_t>& indices = batches[size_t(which++) % batches.size()];
      cases.push_back({kind + " " + std::to_string(rows) + "x" + std::to_string(cols) + " batch " +
                           std::to_string(indices.size()),
                       a, indices, int64_t(which % 3)});
    }
  }
  return cases;
}

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
