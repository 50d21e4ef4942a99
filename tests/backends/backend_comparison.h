// What every fast backend's tests share: the awkward shapes to try, random inputs, and comparisons
// against the reference with error bounds that scale with the computation. test_cpu_backend.cpp uses
// it; the GPU backend's tests can include it and run the same grid.
//
// Error model. A float32 dot product of length K, however it is blocked or fused, differs from the
// exact one by at most ~K * eps * sum_i |x_i w_i|, and in practice by ~sqrt(K) * eps * sum_i |x_i w_i|
// (rounding errors add like a random walk). The reference sums in double, so its only error is the
// final rounding. The bounds below are therefore kDotProductSlack * sqrt(K) * eps * sum_i |x_i w_i|,
// with sum_i |x_i w_i| computed by the reference op itself on the absolute values of the inputs.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "cudamlp/backend.h"
#include "cudamlp/dataset.h"
#include "cudamlp/model.h"
#include "step_phases.h"

namespace cudamlp::testing {

inline constexpr double kFloatEps = std::numeric_limits<float>::epsilon();  // 2^-23

// Headroom over the sqrt(K) * eps estimate: the largest of up to 10^6 roughly normal errors is about
// 5 standard deviations, and the sum of |x_i w_i| already overstates a random walk's typical size.
inline constexpr double kDotProductSlack = 4.0;

// The sizes that break tiled code: 1, one off either side of a power of two, MNIST's 784 and a
// round 1000. Batches: 1, an odd 3, a full tile 64 and one past a power of two.
inline const std::vector<int> kAwkwardSizes = {1, 7, 31, 33, 127, 129, 784, 1000};
inline const std::vector<int64_t> kAwkwardBatches = {1, 3, 64, 257};

struct DenseShape {
  int64_t batch;
  int in;
  int out;
};
// A grid in which every awkward size appears as `in` and as `out` and every batch appears with small
// and large layers, without the full product (the reference's double loops would take minutes).
std::vector<DenseShape> dense_shape_grid();

// Small networks [D, hidden..., C] for whole-step comparisons: no hidden layer, widths of 1, odd
// widths, MNIST's input. Class counts stay <= 256 (labels are uint8).
std::vector<std::vector<int>> network_grid();

// n uniform floats in [lo, hi), the same for a seed on every machine.
std::vector<float> random_floats(size_t n, float lo, float hi, uint64_t seed);
// n samples of D random pixels with random labels in [0, C).
Dataset random_dataset(int64_t n, int D, int C, uint64_t seed);
// n samples of D random float32 features in [-3, 3) (not in [0, 1]: a gather that scales them shows) with
// random labels in [0, C).
Dataset random_float_dataset(int64_t n, int D, int C, uint64_t seed);
// Float feature widths that break a gather: one feature, two (the spirals'), odd ones, one past 256.
inline const std::vector<std::vector<int>> kFloatFeatureNetworks = {{1, 3}, {2, 7, 3}, {3, 5, 2}, {257, 33, 4}};
// |v| element-wise: the inputs from which the reference computes sum_i |x_i w_i|.
std::vector<float> absolute(std::span<const float> values);

// Passes when |actual[i] - expected[i]| <= kDotProductSlack * sqrt(K) * eps * magnitude[i] + floor for
// every i; otherwise names `what`, the first bad index, both values and the bound.
::testing::AssertionResult near_dot_products(std::span<const float> actual, std::span<const float> expected,
                                             std::span<const float> magnitude, int64_t K, double floor,
                                             const std::string& what);

// Passes when |actual[i] - expected[i]| <= tolerance * max_j |expected[j]| for every i: for results of
// several layers, where per-element magnitudes are not at hand, relative to the tensor's largest value.
::testing::AssertionResult near_relative_to_max(std::span<const float> actual, std::span<const float> expected,
                                                double tolerance, const std::string& what);

// Flat buffers in network's layout (parameters, gradients, an optimizer slot): the same size, and every
// tensor of the layout near_relative_to_max.
::testing::AssertionResult tensors_near(const Network& network, std::span<const float> actual,
                                        std::span<const float> expected, double tolerance, const std::string& what);
// The same network, and tensors_near over the parameters.
::testing::AssertionResult models_near(const Model& actual, const Model& expected, double tolerance,
                                       const std::string& what);
// The same slots, each tensors_near.
::testing::AssertionResult states_near(const Network& network, const OptimizerState& actual,
                                       const OptimizerState& expected, double tolerance, const std::string& what);

// Runs one training step phase by phase on `backend` (whose phases are `phases`: the same object) and on
// a ReferenceBackend from the same model and data (batch `batch`; AdamW with weight decay for odd batches,
// SGD with Nesterov momentum 0.9 and weight decay for even ones; two steps so the slots matter) and compares the loss, the count of right answers, every gradient, the updated
// weights and predict()'s probabilities. dropout: both train with that P (and the same seed; the steps'
// numbers and the batches' positions in the epoch away from 0), so their masks must be the same.
// input_scale: the data are random pixels (kPixel255) or random float32 features (kNone), and the
// network takes them.
void expect_step_matches_reference(Backend& backend, StepPhases& phases, const std::vector<int>& sizes, int64_t batch,
                                   float dropout = 0.0f, InputScale input_scale = InputScale::kPixel255);
// The same for any network, not only the MLP of its sizes: backends must walk its layer list.
void expect_step_matches_reference(Backend& backend, StepPhases& phases, const Network& network, int64_t batch,
                                   float dropout = 0.0f, InputScale input_scale = InputScale::kPixel255);

// A network whose first layer has no activation and whose second has a ReLU: what no MLP is, so a
// backend that assumed "ReLU after every hidden layer" fails on it.
Network network_with_a_linear_hidden_layer();

}  // namespace cudamlp::testing
